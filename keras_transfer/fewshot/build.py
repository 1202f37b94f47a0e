"""`few_shot()`: a prototype classifier from a handful of labelled images, as a run like any other."""

from __future__ import annotations

from typing import Any

from keras_transfer.fewshot.pooling import check_pooling
from keras_transfer.fewshot.prototype_head import DEFAULT_SCALE, check_distance
from keras_transfer.recipes.build_and_fit import build_and_fit
from keras_transfer.recipes.result import FitResult

# Options few_shot sets itself: a caller giving them means another method.
_OWN_OPTIONS = ("method", "method_options", "validation_split")


def few_shot(
    support_data: Any,
    *,
    backbone: Any = "efficientnetv2b0",
    weights: str | None = "imagenet",
    distance: str = "cosine",
    scale: float = DEFAULT_SCALE,
    pooling: str = "average",
    image_size: int | tuple | None = None,
    validation_data: Any = None,
    **options: Any,
) -> FitResult:
    """A classifier whose head holds the class prototypes of a pretrained backbone's normalised embeddings.

    Each class's prototype is the mean L2-normalised embedding of its support
    images; an image is classified by its distance to each prototype (no
    gradient step). The result is a normal run: `result.model` is a Keras
    classifier (pixels 0-255 in, probabilities out) that `evaluate`, the
    report, `export` (both signatures), TFLite and `load()` handle; its config
    (`method="prototypes"`, `method_options={"distance": ..., "pooling": ...}`) reruns with
    `build_and_fit_from_config`. Add classes later with `add_classes`.

    With `validation_data`, the linear probe on the same support images is
    scored beside it (the better model is kept, with a warning).

    Args:
        support_data: the labelled support images, in any form `build_and_fit` reads (a folder with a
            sub-folder per class, a CSV, `(images, labels)` arrays, ...); one image per class is enough.
        backbone: a registry name, a `BackboneSpec` or a `keras.Model`.
        weights: `"imagenet"` or a weights file (prototypes need pretrained weights).
        distance: `"cosine"` or `"euclidean"` (between normalised embeddings).
        scale: multiplies the logits before the softmax.
        pooling: `"average"` (the global average of the backbone's last feature map: photos whose objects sit
            anywhere) or `"grid"` (its averages over at most 4 x 4 cells side by side: centred, upright images
            such as digits, documents or product shots, where it gained 1-8 points at 1 shot in our benchmarks).
        image_size: the input size (default: the backbone's).
        validation_data: optional held-out images to score the model and the linear probe on.
        **options: any other `build_and_fit` option (`batch_size`, `output_dir`, `class_names`, `seed`, ...).

    Returns:
        A `FitResult` (`kept="fine_tuned"` is the prototype model unless the probe scored better).

    Raises:
        ValueError: an unknown distance or pooling, `weights=None`, or an option that would choose another method.

    Example:
        >>> result = keras_transfer.few_shot("support/", backbone="mobilenet", distance="cosine")
        >>> result.export("saved_models/few_shot")
    """
    clashing = sorted(set(options) & set(_OWN_OPTIONS))
    if clashing:
        raise ValueError(f"few_shot sets {clashing} itself (method='prototypes', no split of the support set): "
                         "call build_and_fit for another method.")
    check_distance(distance)
    check_pooling(pooling)
    options.setdefault("augmentation", None)
    options.setdefault("baselines", ["linear_probe"] if validation_data is not None else [])
    return build_and_fit(support_data, backbone=backbone, weights=weights, image_size=image_size,
                         validation_data=validation_data, validation_split=0.0, method="prototypes",
                         method_options={"distance": distance, "scale": scale, "pooling": pooling}, **options)
