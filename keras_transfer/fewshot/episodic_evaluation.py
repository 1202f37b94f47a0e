"""Episodic evaluation: prototypes, a linear probe and fine-tuning scored on the same few-shot episodes.

The images of every episode are embedded once; prototypes and the probe then
cost a few milliseconds an episode. Fine-tuning runs on the first
`fine_tune_episodes` of the same episodes with one compiled model whose weights
(and optimizer state) are reset before each episode. Each method reports its
mean accuracy with a 95% confidence interval (normal approximation,
1.96 standard errors, as few-shot papers report it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from keras_transfer.fewshot.pooling import pooled_features_model
from keras_transfer.fewshot.prototype_head import DEFAULT_SCALE, class_means, embedding_model, prototype_logits
from keras_transfer.fewshot.sampling import Episode
from keras_transfer.fewshot.trainable import set_trainable_blocks
from keras_transfer.methods.linear_probe import probe_weights

METHODS = ("prototypes", "linear_probe", "fine_tune")
Z_95 = 1.959964


@dataclass
class EpisodicScore:
    """One method's accuracy over episodes.

    Attributes:
        method: `"prototypes"`, `"linear_probe"` or `"fine_tune"`.
        accuracies: (episodes,) query accuracy of each episode.
        seconds: wall seconds of all its episodes (the shared embedding not included).
    """

    method: str
    accuracies: np.ndarray
    seconds: float

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def ci95(self) -> float:
        """Half the width of the 95% confidence interval of the mean."""
        return confidence_interval(self.accuracies)[1]

    @property
    def seconds_per_episode(self) -> float:
        return self.seconds / max(len(self.accuracies), 1)

    def to_dict(self) -> dict:
        return {"method": self.method, "episodes": len(self.accuracies), "mean": self.mean, "ci95": self.ci95,
                "seconds_per_episode": self.seconds_per_episode}

    def __str__(self) -> str:
        return (f"{self.method}: {100 * self.mean:.1f} +- {100 * self.ci95:.1f}% over {len(self.accuracies)} "
                f"episodes ({1000 * self.seconds_per_episode:.0f} ms an episode)")


def confidence_interval(accuracies: Sequence[float]) -> tuple[float, float]:
    """The mean and the half-width of its 95% confidence interval (1.96 standard errors).

    Args:
        accuracies: one accuracy per episode.

    Returns:
        `(mean, half-width)`; the half-width is 0 for a single episode.

    Example:
        >>> confidence_interval([0.5, 0.7])
        (0.6, 0.196...)
    """
    values = np.asarray(accuracies, dtype="float64")
    if values.size == 0:
        raise ValueError("No accuracies to summarise: run at least one episode.")
    if values.size == 1:
        return float(values[0]), 0.0
    return float(values.mean()), float(Z_95 * values.std(ddof=1) / np.sqrt(values.size))


def prototype_accuracy(features: np.ndarray, episode: Episode, distance: str = "cosine",
                       scale: float = DEFAULT_SCALE) -> float:
    """Query accuracy of the nearest prototype (mean normalised support embedding) in one episode.

    Args:
        features: (N, D) embeddings of the data the episode indexes.
        episode: the task.
        distance: `"cosine"` or `"euclidean"`.
        scale: the logits' scale (does not change the accuracy).

    Returns:
        The share of queries classified right.
    """
    prototypes, _ = class_means(features[episode.support], episode.support_labels, episode.n_way)
    predicted = prototype_logits(features[episode.query], prototypes, distance, scale).argmax(axis=1)
    return float(np.mean(predicted == episode.query_labels))


def probe_accuracy(features: np.ndarray, episode: Episode, regularization: float = 1.0, seed: int = 0) -> float:
    """Query accuracy of the library's linear probe (`probe_weights`) trained on one episode's support set.

    Args:
        features: (N, D) embeddings.
        episode: the task.
        regularization: scikit-learn's C on standardised features.
        seed: the solver's seed.

    Returns:
        The share of queries classified right.
    """
    onehot = np.eye(episode.n_way, dtype="float32")[episode.support_labels]
    kernel, bias = probe_weights(features[episode.support], onehot, regularization=regularization, seed=seed)
    predicted = (features[episode.query] @ kernel + bias).argmax(axis=1)
    return float(np.mean(predicted == episode.query_labels))


def score_episodes(method: str, tasks: Sequence[Episode], accuracy: Callable[[Episode], float]) -> EpisodicScore:
    """Runs `accuracy` on every episode, timing it.

    Returns:
        The method's `EpisodicScore`.
    """
    started = time.perf_counter()
    accuracies = np.array([accuracy(episode) for episode in tasks])
    return EpisodicScore(method, accuracies, time.perf_counter() - started)


def embed_images(model: keras.Model, images: np.ndarray, batch_size: int = 64,
                 pooling: str | None = None) -> np.ndarray:
    """The embeddings the prototypes of `model` live in (pooled backbone features), of RGB 0-255 images.

    Args:
        model: a prototype classifier or a `build_model` classifier.
        images: (N, H, W, 3) pixels (resized to the model's input size when they differ), or (N, H, W) grey.
        batch_size: images per forward pass.
        pooling: None (the embedding the model's own head reads), or `"average"` / `"grid"` for a
            `build_model` classifier (see `keras_transfer.fewshot.pooling`).

    Returns:
        (N, D) float32.

    Example:
        >>> features = embed_images(build_model("mobilenet", 5, weights=weights, image_size=64), x, pooling="grid")
    """
    extractor = embedding_model(model) if pooling is None else pooled_features_model(model, pooling)
    size = tuple(int(side) for side in model.inputs[0].shape[1:3])
    run = keras.ops.convert_to_numpy
    chunks = [run(extractor(model_pixels(images[start:start + batch_size], size), training=False))
              for start in range(0, len(images), batch_size)]
    return np.concatenate(chunks).astype("float32")


def model_pixels(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Float32 RGB 0-255 batches at `size` (grey images repeated to RGB, bilinear resize when needed)."""
    import tensorflow as tf

    pixels = np.asarray(images, dtype="float32")
    if pixels.ndim == 3:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if tuple(pixels.shape[1:3]) != tuple(size):
        pixels = tf.image.resize(pixels, size, method="bilinear").numpy()
    return pixels


class EpisodeFineTuner:
    """Fine-tuning on each episode's support set: one compiled model, its weights reset per episode.

    The model is the classifier's embedding with a new zero-initialised
    `n_way` softmax layer; the top `blocks` backbone blocks and the new layer
    train (BatchNorm stays frozen), with Adam, full-batch, for `steps` steps.

    Args:
        model: a `build_model` or prototype classifier with the pretrained backbone (copied, never changed).
        n_way: classes per episode.
        steps: gradient steps per episode.
        learning_rate: Adam's learning rate.
        blocks: how many of the backbone's top blocks train (0: the new layer only).

    Example:
        >>> tuner = EpisodeFineTuner(classifier, n_way=5)
        >>> tuner.accuracy(images, tasks[0])
    """

    def __init__(self, model: keras.Model, n_way: int, *, steps: int = 20, learning_rate: float = 1e-3,
                 blocks: int = 1):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        embedding = embedding_model(copy)
        outputs = keras.layers.Dense(n_way, activation="softmax", kernel_initializer="zeros", dtype="float32",
                                     name="episode_head")(embedding.output)
        self.model = keras.Model(embedding.inputs[0], outputs, name=model.name)
        set_trainable_blocks(copy, blocks)
        self.steps = int(steps)
        self.size = tuple(int(side) for side in model.inputs[0].shape[1:3])
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
        self.model.optimizer.build(self.model.trainable_variables)
        self._initial = [keras.ops.convert_to_numpy(v) for v in self.model.weights]
        # The optimizer's variables include its learning rate: reset them to their values as built, not zeros.
        self._initial_optimizer = [keras.ops.convert_to_numpy(v) for v in self.model.optimizer.variables]

    def reset(self) -> None:
        """The weights as built and a fresh optimizer state."""
        for variable, value in zip(self.model.weights, self._initial):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self._initial_optimizer):
            variable.assign(value)

    def accuracy(self, images: np.ndarray, episode: Episode) -> float:
        """Resets, fine-tunes on the episode's support images and scores its queries.

        Args:
            images: the (N, H, W, 3) images the episode indexes.
            episode: the task.

        Returns:
            The share of queries classified right.
        """
        self.reset()
        support = model_pixels(images[episode.support], self.size)
        labels = episode.support_labels.astype("int32")
        for _ in range(self.steps):
            self.model.train_on_batch(support, labels)
        query = model_pixels(images[episode.query], self.size)
        predicted = keras.ops.convert_to_numpy(self.model(query, training=False)).argmax(axis=1)
        return float(np.mean(predicted == episode.query_labels))


def evaluate_episodes(
    model: keras.Model,
    data: tuple[np.ndarray, Any],
    tasks: Sequence[Episode],
    *,
    methods: Sequence[str] = METHODS,
    distance: str = "cosine",
    regularization: float = 1.0,
    probe_episodes: int | None = None,
    fine_tune_episodes: int = 100,
    fine_tune_steps: int = 20,
    fine_tune_learning_rate: float = 1e-3,
    fine_tune_blocks: int = 1,
    features: np.ndarray | None = None,
    batch_size: int = 64,
) -> dict[str, EpisodicScore]:
    """Mean accuracy and 95% CI of prototypes, a linear probe and fine-tuning on the same episodes.

    Args:
        model: the classifier whose backbone embeds the images (a `build_model` or prototype classifier).
        data: `(images, labels)`, the pool `tasks` index (images RGB 0-255, or grey).
        tasks: from `episodes(data, ...)`.
        methods: any of `"prototypes"`, `"linear_probe"`, `"fine_tune"`.
        distance: the prototypes' distance.
        regularization: the probe's C (on standardised features).
        probe_episodes: the probe runs on the first this many episodes (default: all).
        fine_tune_episodes: fine-tuning runs on the first this many episodes (it is slow).
        fine_tune_steps, fine_tune_learning_rate, fine_tune_blocks: see `EpisodeFineTuner`.
        features: the pool's embeddings, when already computed (`embed_images`).
        batch_size: images per forward pass.

    Returns:
        `{method: EpisodicScore}`.

    Raises:
        ValueError: an unknown method or no episodes.

    Example:
        >>> tasks = keras_transfer.episodes((x, y), n_way=5, k_shot=1, queries=15, episodes=600)
        >>> for score in evaluate_episodes(classifier, (x, y), tasks).values():
        ...     print(score)
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"Unknown episodic method(s) {unknown}: choose from {list(METHODS)}.")
    if not tasks:
        raise ValueError("No episodes: draw some with keras_transfer.episodes(...).")
    images = data[0]
    scores: dict[str, EpisodicScore] = {}
    if {"prototypes", "linear_probe"} & set(methods) and features is None:
        features = embed_images(model, images, batch_size)
    if "prototypes" in methods:
        scores["prototypes"] = score_episodes(
            "prototypes", tasks, lambda episode: prototype_accuracy(features, episode, distance))
    if "linear_probe" in methods:
        scores["linear_probe"] = score_episodes(
            "linear_probe", list(tasks)[:probe_episodes], lambda episode: probe_accuracy(features, episode,
                                                                                         regularization))
    if "fine_tune" in methods:
        tuner = EpisodeFineTuner(model, tasks[0].n_way, steps=fine_tune_steps, learning_rate=fine_tune_learning_rate,
                                 blocks=fine_tune_blocks)
        scores["fine_tune"] = score_episodes("fine_tune", list(tasks)[:fine_tune_episodes],
                                             lambda episode: tuner.accuracy(images, episode))
    return scores
