"""`PrototypeHead`: a Keras layer that classifies embeddings by their distance to stored class prototypes.

A prototypical classifier (Snell et al. 2017) needs no gradient step: each
class is the mean of its support images' L2-normalised embeddings, and an image
belongs to the nearest mean. Here the means are the layer's (non-trainable)
weights and the class names its config, so a prototype classifier is a plain
Keras model: it saves to `.keras`, loads in safe mode, evaluates, exports
(both serving signatures, TFLite) and gains classes with `add_classes`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_transfer.train.feature_cache import feature_layer

DISTANCES = ("cosine", "euclidean")
# Logits are `scale * cosine` or `-scale * squared distance`: the argmax ignores the scale, the softmax is
# less flat with it (cosines lie in [-1, 1]).
DEFAULT_SCALE = 10.0
HEAD_LAYER = "prototypes"


def check_distance(distance: str) -> str:
    """The distance name, checked.

    Args:
        distance: `"cosine"` or `"euclidean"`.

    Returns:
        The name.

    Raises:
        ValueError: any other value, naming the choices.

    Example:
        >>> check_distance("cosine")
        'cosine'
    """
    return check_choice("distance", distance, DISTANCES)


def check_choice(option: str, value: str, choices: Sequence[str], advice: str = "") -> str:
    """`value`, checked to be one of `choices`; else a ValueError naming the option, the choices and `advice`."""
    if value not in choices:
        raise ValueError(f"{option} must be one of {list(choices)}, got {value!r}{': ' + advice if advice else ''}.")
    return value


@keras.saving.register_keras_serializable(package="keras_transfer")
class PrototypeHead(keras.layers.Layer):
    """Class probabilities from the distance of (B, D) embeddings to K stored prototypes.

    Embeddings are L2-normalised first. With `distance="cosine"` the logits are
    `scale * cos(embedding, prototype)`; with `"euclidean"` they are
    `-scale * ||embedding - prototype||^2`. The output is their softmax, in
    float32. `prototypes` (K, D) holds the mean normalised embedding of each
    class's support images and `counts` (K,) how many images made each mean,
    so more images of a class update its mean exactly.

    Args:
        class_names: the K classes, in output order.
        distance: `"cosine"` or `"euclidean"`.
        scale: multiplies the logits (the softmax's inverse temperature).
        **kwargs: `keras.layers.Layer` options (name, dtype).

    Example:
        >>> head = PrototypeHead(["cat", "dog"])
        >>> probabilities = head(np.ones((4, 16), "float32"))  # (4, 2)
        >>> head.set_prototypes(np.eye(2, 16), [1, 1])
    """

    def __init__(self, class_names: Sequence[str], distance: str = "cosine", scale: float = DEFAULT_SCALE,
                 **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.class_names = [str(name) for name in class_names]
        if len(self.class_names) < 2:
            raise ValueError(f"A prototype classifier needs at least 2 classes, got {self.class_names}.")
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"Class names must be unique, got {self.class_names}.")
        self.distance = check_distance(distance)
        self.scale = float(scale)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def build(self, input_shape):
        dimension = int(input_shape[-1])
        self.prototypes = self.add_weight(name="prototypes", shape=(self.num_classes, dimension),
                                          initializer="zeros", trainable=False)
        self.counts = self.add_weight(name="counts", shape=(self.num_classes,), initializer="zeros",
                                      trainable=False)
        super().build(input_shape)

    def call(self, embeddings):
        embeddings = normalize(ops.cast(embeddings, "float32"))
        if self.distance == "cosine":
            logits = self.scale * ops.matmul(embeddings, ops.transpose(normalize(self.prototypes)))
        else:
            logits = -self.scale * squared_distances(embeddings, self.prototypes)
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def set_prototypes(self, prototypes: np.ndarray, counts: Sequence[float]) -> None:
        """Replaces every prototype and count (the layer must be built).

        Args:
            prototypes: (K, D) mean normalised embeddings, in class order.
            counts: (K,) images behind each mean.

        Returns:
            None.
        """
        prototypes = np.asarray(prototypes, dtype="float32")
        if prototypes.shape != tuple(self.prototypes.shape):
            raise ValueError(f"prototypes must have shape {tuple(self.prototypes.shape)} (classes, embedding "
                             f"size), got {prototypes.shape}.")
        self.prototypes.assign(prototypes)
        self.counts.assign(np.asarray(counts, dtype="float32"))

    def get_config(self) -> dict:
        return {**super().get_config(), "class_names": list(self.class_names), "distance": self.distance,
                "scale": self.scale}


def normalize(vectors):
    """Rows scaled to unit L2 norm (a zero row stays zero)."""
    return vectors / ops.maximum(ops.norm(vectors, axis=-1, keepdims=True), 1e-12)


def squared_distances(embeddings, prototypes):
    """(B, K) squared euclidean distances between (B, D) rows and (K, D) prototypes."""
    return (ops.sum(embeddings ** 2, axis=-1, keepdims=True) - 2 * ops.matmul(embeddings, ops.transpose(prototypes))
            + ops.sum(prototypes ** 2, axis=-1)[None, :])


def normalized_embeddings(features: np.ndarray) -> np.ndarray:
    """Rows of `features` scaled to unit L2 norm, in numpy (what `PrototypeHead` averages)."""
    features = np.asarray(features, dtype="float32")
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def class_means(features: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The prototypes: per class, the mean of the L2-normalised features, and how many images made it.

    Args:
        features: (N, D) pooled backbone features.
        labels: (N,) class indices in `range(num_classes)`.
        num_classes: K.

    Returns:
        `(prototypes (K, D) float32, counts (K,) float32)`; a class without images has a zero prototype.

    Raises:
        ValueError: labels outside `range(num_classes)` or a length mismatch.

    Example:
        >>> prototypes, counts = class_means(features, np.array([0, 0, 1]), 2)
    """
    labels = np.asarray(labels).astype(int).reshape(-1)
    if len(labels) != len(features):
        raise ValueError(f"{len(features)} feature rows but {len(labels)} labels.")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must be class indices in 0..{num_classes - 1}, got {sorted(set(labels))}.")
    embeddings = normalized_embeddings(features)
    sums = np.zeros((num_classes, embeddings.shape[1]), dtype="float64")
    np.add.at(sums, labels, embeddings)
    counts = np.bincount(labels, minlength=num_classes).astype("float64")
    means = sums / np.maximum(counts, 1)[:, None]
    return means.astype("float32"), counts.astype("float32")


def prototype_logits(features: np.ndarray, prototypes: np.ndarray, distance: str = "cosine",
                     scale: float = DEFAULT_SCALE) -> np.ndarray:
    """What `PrototypeHead` computes before the softmax, in numpy (for embeddings already cached).

    Args:
        features: (N, D) features (normalised here).
        prototypes: (K, D) from `class_means`.
        distance: `"cosine"` or `"euclidean"`.
        scale: the logits' scale.

    Returns:
        (N, K) logits; their argmax is the nearest prototype.

    Example:
        >>> predicted = prototype_logits(query_features, prototypes).argmax(axis=1)
    """
    embeddings = normalized_embeddings(features)
    if check_distance(distance) == "cosine":
        return scale * embeddings @ normalized_embeddings(prototypes).T
    distances = ((embeddings[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=-1)
    return -scale * distances


def find_prototype_head(model: keras.Model) -> PrototypeHead:
    """The `PrototypeHead` of a prototype classifier.

    Raises:
        ValueError: the model has none, with what to do.
    """
    for layer in model.layers:
        if isinstance(layer, PrototypeHead):
            return layer
    raise ValueError(f"Model {model.name!r} has no PrototypeHead: build a prototype classifier with "
                     "keras_transfer.few_shot(...) first (add_classes works on those).")


def embedding_model(model: keras.Model) -> keras.Model:
    """The part of a classifier from pixels to the pooled features the prototypes live in.

    Args:
        model: a prototype classifier, or a `build_model` classifier.

    Returns:
        A `keras.Model` sharing `model`'s layers.

    Example:
        >>> features = embedding_model(model).predict(pixels)
    """
    try:
        return keras.Model(model.inputs[0], find_prototype_head(model).input, name="embedding")
    except ValueError:
        return keras.Model(model.inputs[0], feature_layer(model).output, name="embedding")


def prototype_classifier(features_model: keras.Model, prototypes: np.ndarray, counts: Sequence[float],
                         class_names: Sequence[str], *, distance: str = "cosine", scale: float = DEFAULT_SCALE,
                         name: str | None = None) -> keras.Model:
    """A prototype head on top of a feature model, as one classifier (pixels in, probabilities out).

    Args:
        features_model: pixels -> (B, D) pooled features (e.g. `embedding_model(classifier)`).
        prototypes: (K, D) from `class_means`.
        counts: (K,) images behind each prototype.
        class_names: the K classes, in output order.
        distance: `"cosine"` or `"euclidean"`.
        scale: the logits' scale.
        name: the model's name (default: the feature model's).

    Returns:
        An uncompiled `keras.Model` whose last layer is the `PrototypeHead` named `"prototypes"`.

    Example:
        >>> model = prototype_classifier(embedding_model(classifier), *class_means(f, y, 3), ["a", "b", "c"])
    """
    head = PrototypeHead(class_names, distance=distance, scale=scale, name=HEAD_LAYER)
    outputs = head(features_model.output)
    head.set_prototypes(prototypes, counts)
    return keras.Model(features_model.inputs[0], outputs, name=name or features_model.name)
