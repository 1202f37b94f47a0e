"""Confusion: which classes are taken for which, as a matrix and as the most frequent pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def label_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """The multi-label confusion matrix (K, K).

    Cell (i, j) counts the samples where label i is true and label j is
    predicted; off the diagonal only where j is not true (a false positive of
    j that co-occurs with i). The diagonal holds each label's true positives.

    Args:
        y_true: 0/1 array (N, K).
        y_pred: 0/1 array (N, K).

    Returns:
        (K, K) int64 counts.

    Example:
        >>> label_confusion_matrix(np.array([[1, 0], [1, 0]]), np.array([[1, 1], [1, 0]])).tolist()
        [[2, 1], [0, 0]]
    """
    true = y_true.astype(np.int64)
    false_positive = (y_pred * (1 - y_true)).astype(np.int64)
    matrix = true.T @ false_positive
    np.fill_diagonal(matrix, np.sum(true * y_pred, axis=0))
    return matrix


def most_confused_pairs(
    confusion: np.ndarray, support: np.ndarray, class_names: Sequence[str], n: int = 10
) -> list[dict[str, Any]]:
    """The `n` largest off-diagonal confusion-matrix cells; see `Evaluation.most_confused`.

    Args:
        confusion: (K, K) counts, rows = true class.
        support: (K,) number of true samples per class.
        class_names: the K names.
        n: how many pairs.

    Returns:
        Dicts `{"true", "predicted", "count", "fraction"}`, most frequent
        first (ties: larger fraction of the true class, then class order).

    Example:
        >>> most_confused_pairs(np.array([[3, 1], [0, 2]]), np.array([4, 2]), ["cat", "dog"])
        [{'true': 'cat', 'predicted': 'dog', 'count': 1, 'fraction': 0.25}]
    """
    pairs = []
    for i, j in zip(*np.nonzero(confusion)):
        if i == j:
            continue
        count = int(confusion[i, j])
        fraction = count / support[i] if support[i] else 0.0
        pairs.append({"true": class_names[i], "predicted": class_names[j], "count": count,
                      "fraction": float(fraction), "_order": (-count, -fraction, int(i), int(j))})
    pairs.sort(key=lambda pair: pair["_order"])
    return [{key: value for key, value in pair.items() if key != "_order"} for pair in pairs[:n]]
