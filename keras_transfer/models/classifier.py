"""`build_model()`: a backbone with its preprocessing baked in, and a classification head."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from keras_transfer.models.backbones import (
    BackboneSpec,
    Block,
    generic_block_rule,
    registry_spec_of_model,
    resolve_backbone,
    segment_layers,
    size_pair,
)

BACKBONE_LAYER = "backbone"
# From-scratch runs lower BatchNorm momentum from Keras' 0.99/0.999 to this, so the
# moving statistics are usable after a few hundred steps instead of thousands.
SCRATCH_BATCHNORM_MOMENTUM = 0.9


def build_model(
    backbone: str | BackboneSpec | keras.Model = "efficientnetv2b0",
    num_classes: int = 2,
    *,
    weights: str | None = "imagenet",
    image_size: int | tuple[int, int] | None = None,
    dropout: float = 0.2,
    hidden_units: int | None = None,
    multi_label: bool = False,
) -> keras.Model:
    """Builds backbone → GlobalAveragePooling → Dropout → (Dense) → Dense classifier.

    The model takes RGB pixels in 0–255 of any dtype: the backbone's own
    preprocessing is its first layer, so nothing outside the model rescales.
    A pretrained backbone (weights not None) is frozen, called with
    `training=False`, and its BatchNorm layers stay frozen in every stage, so
    their moving statistics never drift. A from-scratch backbone
    (`weights=None`) trains its BatchNorm normally, with momentum 0.9.

    Args:
        backbone: a registry name (see `list_backbones()`), a `BackboneSpec`
            (see `custom_backbone`) or a `keras.Model`.
        num_classes: number of classes (labels, for multi-label).
        weights: `"imagenet"`, a weights-file path, or None (random init).
        image_size: input size, int or (height, width); default: the
            backbone's pretrained size.
        dropout: dropout rate before the output layer.
        hidden_units: optional width of a hidden Dense layer in the head.
        multi_label: sigmoid outputs, one per label.

    Returns:
        An uncompiled `keras.Model` named `"<backbone>_classifier"`; its
        backbone is the layer named `"backbone"`. A truncated backbone
        (`"mobilenet:block9"`) ends at its block; the model is then named
        `"mobilenet_to_block9_classifier"`.

    Example:
        >>> model = build_model("mobilenetv2", num_classes=5, weights=None, image_size=64)
        >>> model.output_shape
        (None, 5)
    """
    if num_classes < 2 and not multi_label:
        raise ValueError(
            f"num_classes must be at least 2 for a classifier, got {num_classes}: "
            "a binary task has 2 classes."
        )
    spec = resolve_backbone(backbone)
    height, width = size_pair(image_size or spec.default_size)
    base = spec.build((height, width), weights)
    base.name = BACKBONE_LAYER
    pretrained = weights is not None
    if pretrained:
        base.trainable = False
    else:
        for layer in batchnorm_layers(base):
            layer.momentum = SCRATCH_BATCHNORM_MOMENTUM

    inputs = keras.Input((height, width, 3), name="pixels")
    x = spec.preprocessing_layer()(inputs)
    # training=False keeps a pretrained backbone in inference mode (BatchNorm,
    # Dropout) also when it is unfrozen for fine-tuning.
    x = base(x, training=False) if pretrained else base(x)
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    else:  # a backbone that already gives (B, D) features: name them, for the feature cache
        x = keras.layers.Identity(name="features")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu", name="head_hidden")(x)
        x = keras.layers.Dropout(dropout, name="head_hidden_dropout")(x)
    units, activation = output_units(num_classes, multi_label)
    # float32 outputs keep the softmax and the loss exact under mixed precision.
    outputs = keras.layers.Dense(units, activation=activation, dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{spec.model_name}_classifier")


def output_units(num_classes: int, multi_label: bool) -> tuple[int, str]:
    """The output layer's width and activation for a task."""
    if multi_label:
        return num_classes, "sigmoid"
    if num_classes == 2:
        return 1, "sigmoid"
    return num_classes, "softmax"


def get_backbone_layer(model: keras.Model) -> keras.Model | None:
    """The backbone inside a classifier from `build_model`, or None."""
    try:
        return model.get_layer(BACKBONE_LAYER)
    except ValueError:
        return None


def model_blocks(model: keras.Model, spec: BackboneSpec | None = None) -> list[Block]:
    """The ordered blocks of `model`'s backbone, for staged unfreezing.

    Args:
        model: a classifier from `build_model`, or any Keras model.
        spec: the backbone's `BackboneSpec`; default: found from the model's
            name (`"<backbone>_classifier"`), else blocks are found from
            Keras-style layer names.

    Returns:
        The backbone's blocks from input to output. For a model without a
        `"backbone"` layer, its own top-level layers are cut into blocks.
    """
    base = get_backbone_layer(model) or model
    if spec is None:
        spec = registry_spec_of_model(model.name.removesuffix("_classifier"))
    if spec is not None:
        return spec.blocks(base)
    return segment_layers(base.layers, generic_block_rule(base.layers))


def batchnorm_layers(layer: keras.layers.Layer) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer inside `layer`, nested ones included."""
    return [
        sub
        for sub in layer._flatten_layers(include_self=True, recursive=True)
        if isinstance(sub, keras.layers.BatchNormalization)
    ]


def load_model(path: str | os.PathLike) -> keras.Model:
    """Loads a `.keras` model in safe mode: no code inside the file runs.

    Args:
        path: a `.keras` file (e.g. `model.keras` of an export, or a checkpoint).

    Returns:
        The model, compiled as it was saved.

    Raises:
        ValueError: the file would need unsafe deserialisation (a `Lambda`
            layer or other Python code stored in it), with what to do.

    Example:
        >>> model = keras_transfer.load_model("saved_models/demo/model.keras")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}: give the path of a .keras file.")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except ValueError as error:
        if "safe_mode" not in str(error) and "unsafe" not in str(error).lower():
            raise
        raise ValueError(
            f"Refused to load {path}: it stores Python code (for example a Lambda layer or a lambda function) "
            "that would run while loading, which is how a model file from a stranger can take over your machine. "
            "Load it with keras.saving.load_model(path, safe_mode=False) only if you trust who made it and "
            "what is in it."
        ) from error
