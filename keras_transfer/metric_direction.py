"""The one rule for whether a higher value of a metric is better.

Early stopping, best-stage choice, the cached head stage, warnings and the
report all ask here. As Keras' `MonitorCallback` does, the metric is asked
first (Keras metrics carry a direction); the documented fallback reads the
name: losses and errors are lower-is-better, every other metric (accuracy,
AUC, F1, precision, recall, ...) is a score, higher-is-better.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Words that mark a lower-is-better value, matched as parts of the metric's name.
LOWER_IS_BETTER_WORDS = (
    "loss", "error", "ece", "hamming", "crossentropy", "mse", "mae", "rmse", "mape", "msle", "hinge",
    "divergence", "kld", "poisson", "logcosh", "brier", "perplexity", "distance",
)
_WORD = re.compile(r"[a-z0-9]+")


def metric_name(monitor: str) -> str:
    """`monitor` without Keras' `val_` prefix (`"val_accuracy"` -> `"accuracy"`)."""
    return monitor.removeprefix("val_")


def higher_is_better(monitor: str, metrics: Iterable[Any] = ()) -> bool:
    """Whether a higher value of `monitor` is an improvement.

    Args:
        monitor: a metric or log name, with or without `val_` (`"val_loss"`, `"accuracy"`, `"val_f1"`).
        metrics: metric objects to ask first (e.g. `model.metrics`); a Keras
            metric named like `monitor` answers with its own direction.

    Returns:
        True for scores, False for losses and errors.

    Example:
        >>> higher_is_better("val_accuracy"), higher_is_better("val_loss"), higher_is_better("val_f1")
        (True, False, True)
    """
    name = metric_name(monitor)
    for metric in _flatten(metrics):
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return direction == "up"
    words = _WORD.findall(name.lower())
    joined = "_".join(words)
    return not any(word in words or f"_{word}" in f"_{joined}" for word in LOWER_IS_BETTER_WORDS)


def is_improvement(value: float | None, best: float | None, monitor: str, min_delta: float = 0.0,
                   metrics: Iterable[Any] = ()) -> bool:
    """Whether `value` improves on `best` by more than `min_delta` (NaN and None never improve).

    Args:
        value: the new value.
        best: the best so far (None: anything finite improves).
        monitor: the metric's name (its direction comes from `higher_is_better`).
        min_delta: the smallest change that counts.
        metrics: metric objects to ask for the direction.

    Returns:
        True when `value` is better.

    Example:
        >>> is_improvement(0.4, 0.5, "val_loss"), is_improvement(0.4, 0.5, "val_accuracy")
        (True, False)
    """
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return False
    if best is None:
        return True
    if higher_is_better(monitor, metrics):
        return value - min_delta > best
    return value + min_delta < best


def _flatten(metrics: Iterable[Any]) -> list:
    """Keras wraps compiled metrics in containers that hold `.metrics`; unwrap them."""
    found = []
    for metric in metrics or ():
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)) and inner and not hasattr(metric, "_direction"):
            found.extend(_flatten(inner))
        else:
            found.append(metric)
    return found
