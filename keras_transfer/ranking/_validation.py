"""Input checks shared by the transferability scores: one clear ValueError per problem, naming the fix."""

from __future__ import annotations

import numpy as np


def class_indices(labels: np.ndarray, num_samples: int | None = None, name: str = "labels") -> tuple[np.ndarray, int]:
    """`labels` as contiguous class indices `0..C-1` (in sorted order of the original ids) and C.

    Args:
        labels: `(N,)` integer class ids (any ids: they are renumbered; integral floats are accepted).
        num_samples: the N the labels must have (the rows of the features), or None.
        name: the argument's name, for the error messages.

    Returns:
        `(indices, num_classes)`.

    Raises:
        ValueError: not 1-D, not integral, length mismatch, fewer than 2 classes.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of class indices, got shape {y.shape}; "
            "for one-hot labels pass labels.argmax(axis=1)."
        )
    if y.size == 0:
        raise ValueError(f"{name} is empty: pass at least two examples of each of two classes.")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(
                f"{name} must hold integer class indices, got non-integral floats; pass labels.astype(int)."
            )
    elif y.dtype.kind not in "iub":
        raise ValueError(
            f"{name} must hold integer class indices, got dtype {y.dtype}; map class names to 0..C-1 first."
        )
    if num_samples is not None and y.shape[0] != num_samples:
        raise ValueError(
            f"{name} has {y.shape[0]} entries but there are {num_samples} feature rows: "
            "pass one label per example, in the same order."
        )
    classes, indices = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"{name} holds a single class ({classes[0]!r}): a transferability score compares classes, "
            "so pass examples of at least two classes."
        )
    return indices.reshape(-1), int(classes.size)


def checked_matrix(values: np.ndarray, name: str) -> np.ndarray:
    """`values` as a finite float64 `(N, D)` matrix, or a ValueError saying what is wrong and how to fix it."""
    try:
        matrix = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric (N, D) array: {error}") from error
    if matrix.ndim != 2:
        hint = "reshape(-1, 1) a single feature" if matrix.ndim == 1 else "pool or flatten it to (N, D) first"
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {matrix.shape}: {hint}.")
    if matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise ValueError(f"{name} has shape {matrix.shape}: pass at least 2 examples and 1 column.")
    finite = np.isfinite(matrix)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        shown = ", ".join(str(row) for row in bad_rows[:5]) + (", ..." if bad_rows.size > 5 else "")
        raise ValueError(
            f"{name} contain NaN or infinite values in {bad_rows.size} row(s) ({shown}): "
            "drop or impute those examples (or fix the backbone's numerics) before scoring."
        )
    return matrix


def checked_features(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated `(features float64 (N, D), class indices (N,), num_classes)`."""
    matrix = checked_matrix(features, "features")
    indices, num_classes = class_indices(labels, matrix.shape[0])
    return matrix, indices, num_classes


def min_class_count(indices: np.ndarray) -> int:
    """The number of examples of the rarest class."""
    return int(np.bincount(indices).min())
