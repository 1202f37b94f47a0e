"""`ServingSpec`: what every exported format needs to know about a classifier, checked before anything is written.

`serving_spec` checks the class names against the model's output and the
model's input size; `check_inference_only` refuses a model that would augment
its input when served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras

RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
# Layers that only act while training; a served model must not contain them.
_TRAINING_ONLY_PREFIXES = ("Random", "Gaussian", "AlphaDropout", "Augment", "AugMix", "CutMix", "MixUp", "RandAugment")


@dataclass(frozen=True)
class ServingSpec:
    """What the serving graph needs to know about a classifier.

    Attributes:
        image_size: (height, width) of the model's input.
        class_names: the classes, in output order.
        multi_label: independent sigmoid outputs (several labels per image).
        binary: the model has ONE sigmoid unit = P(class_names[1]); serving
            expands it to two columns [1 - p, p].
        top_k: how many classes `class_ids`, `class_names` and `scores` hold.
        resize_method: the `tf.image.resize` method training resized with.

    Example:
        >>> spec = ServingSpec((224, 224), ("cat", "dog"), multi_label=False, binary=True, top_k=2)
    """

    image_size: tuple[int, int]
    class_names: tuple[str, ...]
    multi_label: bool
    binary: bool
    top_k: int
    resize_method: str = "bilinear"


def serving_spec(
    model: keras.Model,
    class_names: Sequence[str],
    multi_label: bool = False,
    top_k: int = 5,
    resize_method: str = "bilinear",
) -> ServingSpec:
    """Checks that `class_names` fit `model`'s output and gives the `ServingSpec`.

    Args:
        model: the classifier.
        class_names: the classes in output order.
        multi_label: independent sigmoid outputs.
        top_k: requested top-k (capped at the number of classes).
        resize_method: a `tf.image.resize` method.

    Returns:
        The `ServingSpec`.

    Raises:
        ValueError: empty, multi-line or duplicate class names, a count that
            does not fit the model's output units, a bad `top_k` or an unknown
            `resize_method`.

    Example:
        >>> serving_spec(model, ["circle", "square", "triangle"], top_k=2).top_k
        2
    """
    names = tuple(str(name) for name in class_names)
    if not names or (len(names) < 2 and not multi_label):
        raise ValueError(f"class_names must list at least 2 classes (1 label for multi_label), got {list(names)}.")
    bad = [name for name in names if not name.strip() or "\n" in name or "\r" in name]
    if bad:
        raise ValueError(f"class_names must be non-empty single-line strings; fix {bad!r}.")
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"class_names has duplicates {duplicates}: each class needs a distinct name.")
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
    if resize_method not in RESIZE_METHODS:
        raise ValueError(f"Unknown resize_method {resize_method!r}: use one of {list(RESIZE_METHODS)}.")
    units = model.output_shape[-1]
    binary = not multi_label and len(names) == 2 and units == 1
    if units != len(names) and not binary:
        raise ValueError(
            f"The model has {units} output unit(s) but {len(names)} class_names were given: pass the "
            "class names in the order the model was trained on (a binary model has 1 sigmoid unit and 2 names)."
        )
    return ServingSpec(
        image_size=input_size(model),
        class_names=names,
        multi_label=multi_label,
        binary=binary,
        top_k=min(top_k, len(names)),
        resize_method=resize_method,
    )


def input_size(model: keras.Model) -> tuple[int, int]:
    """(height, width) of a model whose input is (batch, height, width, 3) pixels.

    Args:
        model: a model with one fixed-size RGB image input.

    Returns:
        `(height, width)`.

    Raises:
        ValueError: several inputs, or an input that is not (batch, height, width, 3) with a fixed size.

    Example:
        >>> input_size(build_model("mobilenetv3small", 3, weights=None, image_size=32))
        (32, 32)
    """
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(f"export needs a model with one image input; this one has {len(shape)} inputs.")
        shape = shape[0]
    if len(shape) != 4 or shape[-1] != 3 or shape[1] is None or shape[2] is None:
        raise ValueError(
            f"export needs a fixed-size RGB image input (batch, height, width, 3); the model's input is {shape}. "
            "Build the model with an image_size."
        )
    return int(shape[1]), int(shape[2])


def check_inference_only(model: keras.Model) -> None:
    """Refuses a model that holds augmentation or other training-only layers.

    The served graph calls the model with `training=False`, where Dropout is
    an identity; augmentation belongs to the input pipeline, not to a model
    that is exported.

    Args:
        model: the classifier to export.

    Returns:
        None, when the model holds no training-only layer.

    Raises:
        ValueError: naming the training-only layers.

    Example:
        >>> check_inference_only(model)  # raises for a model with a RandomFlip layer
    """
    found = [
        f"{layer.name} ({type(layer).__name__})"
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if type(layer).__name__.startswith(_TRAINING_ONLY_PREFIXES)
    ]
    if found:
        raise ValueError(
            f"The model contains training-only layers {found}; an exported model must not augment its "
            "input. Apply augmentation in the data pipeline, or rebuild the model without these layers "
            "and copy the weights over before exporting."
        )
