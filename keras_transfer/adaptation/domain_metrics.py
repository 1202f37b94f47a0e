"""How far apart two domains are in a feature space: the proxy A-distance, and a 2-D PCA picture of both.

The proxy A-distance (Ben-David et al. 2007; used by DANN's paper) trains a
domain classifier on half of the features of both domains and measures its
error `err` on the other half: `2 * (1 - 2 * err)`, 0 when the domains cannot
be told apart, 2 when they separate perfectly. Adaptation that works lowers it
on the features the classifier reads.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

SOURCE_COLOUR, TARGET_COLOUR = "#1f77b4", "#d62728"
EMBEDDING_POINTS = 300  # per domain, in a record and a plot


def _paired(source: np.ndarray, target: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal numbers of source and target rows (the larger side subsampled), so chance error is 0.5."""
    source, target = np.asarray(source, np.float32), np.asarray(target, np.float32)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(f"Source and target features must be (n, d) arrays of the same width, got {source.shape} "
                         f"and {target.shape}.")
    count = min(len(source), len(target))
    if count < 4:
        raise ValueError(f"The A-distance needs at least 4 images of each domain, got {len(source)} and {len(target)}.")
    rng = np.random.default_rng(seed)
    return source[rng.choice(len(source), count, replace=False)], target[rng.choice(len(target), count, replace=False)]


def a_distance(source: np.ndarray, target: np.ndarray, seed: int = 0) -> float:
    """The proxy A-distance between two sets of features: `2 * (1 - 2 * held-out domain-classifier error)`.

    The classifier is an L2 logistic regression on standardised features,
    trained on a random half of each domain and scored on the other half.

    Args:
        source: source features (n_s, d).
        target: target features (n_t, d).
        seed: the subsampling and split seed.

    Returns:
        A float in [0, 2] (clipped at 0 when the classifier is worse than chance).

    Raises:
        ValueError: mismatched shapes, or fewer than 4 rows on a side.

    Example:
        >>> a_distance(rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 3)  # close to 2
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    source, target = _paired(source, target, seed)
    features = np.concatenate([source, target])
    domains = np.concatenate([np.ones(len(source)), np.zeros(len(target))])
    order = np.random.default_rng(seed + 1).permutation(len(domains))
    train, test = order[: len(order) // 2], order[len(order) // 2:]
    scaler = StandardScaler().fit(features[train])
    classifier = LogisticRegression(max_iter=1000, random_state=seed).fit(scaler.transform(features[train]),
                                                                           domains[train])
    error = float(np.mean(classifier.predict(scaler.transform(features[test])) != domains[test]))
    return float(max(0.0, 2.0 * (1.0 - 2.0 * error)))


def pca_embedding(source: np.ndarray, target: np.ndarray, seed: int = 0,
                  points: int = EMBEDDING_POINTS) -> dict[str, list]:
    """Both domains projected on the first two principal components of their joined features.

    Args:
        source: source features (n_s, d).
        target: target features (n_t, d).
        seed: which rows are kept when there are more than `points`.
        points: the most rows kept per domain.

    Returns:
        `{"source": [[x, y], ...], "target": [[x, y], ...]}` (JSON-able).

    Example:
        >>> embedding = pca_embedding(source_features, target_features)
        >>> len(embedding["source"][0])
        2
    """
    source, target = _paired(source, target, seed)
    source, target = source[:points], target[:points]
    joined = np.concatenate([source, target])
    centred = joined - joined.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ components[:2].T
    if projected.shape[1] < 2:
        projected = np.pad(projected, ((0, 0), (0, 2 - projected.shape[1])))
    return {"source": projected[: len(source)].round(4).tolist(), "target": projected[len(source):].round(4).tolist()}


def domain_shift(source: np.ndarray, target: np.ndarray, seed: int = 0) -> dict:
    """The A-distance and the PCA embedding of one feature space, as a record holds them.

    Example:
        >>> domain_shift(source_features, target_features)["a_distance"]
    """
    return {"a_distance": a_distance(source, target, seed), "embedding": pca_embedding(source, target, seed)}


def plot_domain_embedding(panels: dict[str, dict], path: str | os.PathLike | None = None) -> Figure:
    """Source and target points side by side, one panel per feature space (e.g. "before", "after").

    Args:
        panels: `{title: domain_shift(...) record}` (each with `embedding` and `a_distance`).
        path: also write the figure there (PNG).

    Returns:
        The matplotlib `Figure`.

    Raises:
        ValueError: no panels.

    Example:
        >>> plot_domain_embedding({"before": before, "after adaptation": after}, "domains.png")
    """
    if not panels:
        raise ValueError("plot_domain_embedding needs at least one panel: {title: domain_shift(...)}.")
    fig = Figure(figsize=(4.2 * len(panels), 4.0))
    for index, (title, record) in enumerate(panels.items(), start=1):
        ax = fig.add_subplot(1, len(panels), index)
        for side, colour in (("source", SOURCE_COLOUR), ("target", TARGET_COLOUR)):
            points = np.asarray(record["embedding"][side], np.float32).reshape(-1, 2)
            ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5, color=colour, label=side)
        ax.set_title(f"{title}: A-distance {record['a_distance']:.2f}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    if path is not None:
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    return fig
