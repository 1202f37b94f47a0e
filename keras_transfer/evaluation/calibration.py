"""Calibration: how far the predicted probabilities are from the observed frequencies.

`calibration_bins` groups predictions into equal-width confidence bins (the
reliability diagram's bars); `expected_calibration_error` is their
count-weighted gap.
"""

from __future__ import annotations

import math

import numpy as np

CALIBRATION_BINS = 15


def calibration_bins(
    y_true: np.ndarray, y_prob: np.ndarray, multi_label: bool, bins: int = CALIBRATION_BINS
) -> dict[str, np.ndarray]:
    """Equal-width calibration bins over [0, 1], each closed on the right (the first also on the left).

    Args:
        y_true: class indices (N,), or 0/1 (N, K) for multi-label.
        y_prob: (N, K) probabilities.
        multi_label: bin every label probability against whether the label is
            true; else bin the top-1 confidence against whether the arg-max is right.
        bins: number of bins.

    Returns:
        `{"edges": (bins + 1,), "count": (bins,), "accuracy": (bins,), "confidence": (bins,)}`;
        accuracy and confidence are NaN in empty bins.

    Example:
        >>> calibration_bins(np.array([0, 1]), np.array([[0.9, 0.1], [0.3, 0.7]]), False, bins=2)["count"]
        array([0, 2])
    """
    if multi_label:
        confidence = y_prob.reshape(-1)
        correct = y_true.reshape(-1).astype(np.float64)
    else:
        confidence = y_prob.max(axis=1)
        correct = (np.argmax(y_prob, axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
    return {"edges": edges, "count": count, "accuracy": accuracy, "confidence": mean_confidence}


def expected_calibration_error(calibration: dict[str, np.ndarray]) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over the non-empty bins.

    Args:
        calibration: from `calibration_bins`.

    Returns:
        The ECE in [0, 1], or NaN when every bin is empty.

    Example:
        >>> expected_calibration_error(calibration_bins(y_true, y_prob, multi_label=False))
        0.037
    """
    count = calibration["count"]
    total = count.sum()
    if not total:
        return math.nan
    filled = count > 0
    gaps = np.abs(calibration["accuracy"][filled] - calibration["confidence"][filled])
    return float(np.sum(gaps * count[filled]) / total)
