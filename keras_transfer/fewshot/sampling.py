"""`episodes()`: seeded, class-balanced N-way K-shot tasks with disjoint support and query images.

An episode draws `n_way` classes, then `k_shot + queries` distinct images of
each: the first `k_shot` are its support set, the rest its queries. Episodes
are indices into the data, so embeddings computed once serve every episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot task, as indices into the data it was drawn from.

    Attributes:
        classes: the `n_way` original labels, in episode order (episode label i is `classes[i]`).
        support: (n_way * k_shot,) indices of the support images, class by class.
        support_labels: their episode labels in `range(n_way)`.
        query: (n_way * queries,) indices of the query images, class by class.
        query_labels: their episode labels.
    """

    classes: tuple
    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray

    @property
    def n_way(self) -> int:
        return len(self.classes)


def episode_labels(data: Any) -> np.ndarray:
    """The (N,) labels of `data`: a label array, or the labels of an `(images, labels)` pair (one-hot rows taken
    by their argmax)."""
    labels = data[1] if isinstance(data, tuple) else data
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    return labels.reshape(-1)


def episodes(data: Any, n_way: int = 5, k_shot: int = 1, queries: int = 15, episodes: int = 600,
             seed: int = 0) -> list[Episode]:
    """Draws few-shot episodes from labelled data.

    Every episode holds exactly `k_shot` support and `queries` query images of
    each of its `n_way` classes, and no image is in both. The same seed gives
    the same episodes.

    Args:
        data: the labels (N,), or an `(images, labels)` pair.
        n_way: classes per episode.
        k_shot: support images per class.
        queries: query images per class.
        episodes: how many episodes.
        seed: seeds the draws.

    Returns:
        A list of `Episode`s (indices into `data`).

    Raises:
        ValueError: too few classes, or too few images of every class for `k_shot + queries`.

    Example:
        >>> tasks = keras_transfer.episodes((x, y), n_way=5, k_shot=1, queries=15, episodes=600, seed=0)
        >>> x[tasks[0].support].shape
        (5, 28, 28, 3)
    """
    labels = episode_labels(data)
    for name, value in (("n_way", n_way), ("k_shot", k_shot), ("queries", queries), ("episodes", episodes)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if n_way < 2:
        raise ValueError(f"n_way must be at least 2 (a task tells classes apart), got {n_way}.")
    needed = k_shot + queries
    classes, counts = np.unique(labels, return_counts=True)
    usable = classes[counts >= needed]
    if len(usable) < n_way:
        raise ValueError(f"{n_way}-way episodes with {k_shot} support + {queries} query images a class need "
                         f"{n_way} classes with at least {needed} images; only {len(usable)} of {len(classes)} "
                         f"have that many (smallest class: {counts.min()}). Lower n_way, k_shot or queries.")
    by_class = {label: np.flatnonzero(labels == label) for label in usable}
    rng = np.random.default_rng(seed)
    drawn = []
    for _ in range(int(episodes)):
        chosen = rng.choice(usable, n_way, replace=False)
        picks = [rng.choice(by_class[label], needed, replace=False) for label in chosen]
        drawn.append(_episode(chosen, picks, k_shot, queries))
    return drawn


def _episode(chosen: Sequence, picks: Sequence[np.ndarray], k_shot: int, queries: int) -> Episode:
    """An `Episode` from the classes and the images drawn for each (support first)."""
    way = np.arange(len(chosen))
    return Episode(classes=tuple(np.asarray(chosen).tolist()),
                   support=np.concatenate([pick[:k_shot] for pick in picks]),
                   support_labels=np.repeat(way, k_shot),
                   query=np.concatenate([pick[k_shot:] for pick in picks]),
                   query_labels=np.repeat(way, queries))
