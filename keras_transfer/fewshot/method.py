"""The `prototypes` transfer method: the class means of the frozen features as the classifier's head.

No gradient step: the run's pretrained backbone embeds the training (support)
images once, and each class's prototype is the mean of its images' normalised
embeddings (`class_means`). The model it returns is a plain classifier whose
last layer is a `PrototypeHead`.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_transfer.fewshot.pooling import check_pooling, grid_features_model, pooled_features_model
from keras_transfer.fewshot.prototype_head import (
    DEFAULT_SCALE,
    check_distance,
    class_means,
    prototype_classifier,
)
from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.train.feature_cache import extract_features


def class_indices(labels: np.ndarray) -> np.ndarray:
    """Class indices from one-hot (N, K) rows or binary (N, 1) labels, as `extract_features` returns them.

    Example:
        >>> class_indices(np.array([[0, 1], [1, 0]]))
        array([1, 0])
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        return labels.argmax(axis=1)
    return (labels.reshape(-1) > 0.5).astype(int)


def prototypes_from_features(model: keras.Model, features: np.ndarray, labels: np.ndarray,
                             class_names: list[str], *, distance: str = "cosine",
                             scale: float = DEFAULT_SCALE, pooling: str = "average") -> keras.Model:
    """A prototype classifier on a copy of `model`'s backbone, from features already extracted.

    Args:
        model: a `build_model` classifier with its pretrained backbone (copied, never changed).
        features: (N, D) features of the support images (from `model`, pooled as `pooling` says).
        labels: one-hot (N, K) or binary (N, 1) labels.
        class_names: the K classes, in output order.
        distance: `"cosine"` or `"euclidean"`.
        scale: the logits' scale.
        pooling: `"average"` or `"grid"` (see `keras_transfer.fewshot.pooling`).

    Returns:
        An uncompiled classifier named like `model`, ending in a `PrototypeHead`.

    Example:
        >>> classifier = prototypes_from_features(model, features, labels, ["a", "b", "c"])
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    prototypes, counts = class_means(features, class_indices(labels), len(class_names))
    return prototype_classifier(pooled_features_model(copy, pooling), prototypes, counts, class_names,
                                distance=distance, scale=scale, name=model.name)


@register_method
class Prototypes(TransferMethod):
    """Prototypical classification: each class is the mean normalised embedding of its training images.

    Options:
        distance: `"cosine"` (default) or `"euclidean"`, between an image's
            normalised embedding and each prototype.
        scale: multiplies the logits before the softmax (default 10).
        pooling: `"average"` (default: the global average of the last
            feature map) or `"grid"` (its averages over at most 4 x 4 cells,
            side by side: for centred, upright images; see `fewshot.pooling`).

    Example:
        >>> build_and_fit(support, method="prototypes", validation_split=0)
        >>> keras_transfer.few_shot(support, backbone="mobilenet")  # the same, with few-shot defaults
    """

    name = "prototypes"
    needs_pretrained = True
    uses_features = True
    combines_with = frozenset({"linear_probe"})
    option_defaults = {"distance": "cosine", "scale": DEFAULT_SCALE, "pooling": "average"}

    def check(self, context) -> None:
        super().check(context)
        check_distance(self.options["distance"])
        check_pooling(self.options["pooling"])
        if context.train_spec.multi_label:
            raise ValueError("Prototypes classify single-label data (one class per image); for multi-label data "
                             "use method='linear_probe' or 'fine_tune'.")

    def feature_views(self, context) -> int | None:
        """Average pooling reads the run's shared feature cache; grid pooling embeds the support images itself."""
        return 0 if self.options["pooling"] == "average" else None

    def fit(self, context) -> MethodResult:
        pooling = self.options["pooling"]
        if pooling == "average":
            features, labels = context.clean_features()
        else:  # the cached features are average-pooled: the support images are embedded once more, on the grid
            features, labels = extract_features(grid_features_model(context.model), context.train_spec,
                                                context.image_size, context.config.training.batch_size,
                                                decoded=context.train_images)
        names = list(context.train_spec.class_names)
        classifier = prototypes_from_features(context.model, features, labels, names, pooling=pooling,
                                              distance=self.options["distance"], scale=self.options["scale"])
        counts = np.bincount(class_indices(labels), minlength=len(names))
        recipe = (f"{self.options['distance']} distance to the mean normalised {pooling}-pooled embedding of each "
                  f"class ({int(counts.min())}-{int(counts.max())} support images a class), no gradient step")
        return MethodResult(classifier, record={"distance": self.options["distance"], "scale": self.options["scale"],
                                                "pooling": pooling,
                                                "support_per_class": dict(zip(names, counts.tolist())),
                                                "recipe": recipe})
