"""Labels and probabilities as the metrics take them: checked, encoded, turned into predictions and losses.

Single-label: labels are class indices (N,), probabilities (N, K); a binary
model's single sigmoid column P(class 1) becomes the two columns `[1 - p, p]`.
Multi-label: labels and probabilities are both (N, K).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] in losses, as Keras does
THRESHOLD = 0.5


def as_probabilities(y_prob: np.ndarray | Sequence, multi_label: bool = False) -> np.ndarray:
    """Validated (N, K) float64 probabilities; a single-label sigmoid column becomes `[1 - p, p]`.

    Args:
        y_prob: (N,), (N, 1) or (N, K) probabilities.
        multi_label: multi-label outputs are never expanded.

    Returns:
        An (N, K) float64 array. Single-label rows that do not sum to 1 are
        normalised, with a warning.

    Raises:
        ValueError: not 2-D, or values outside [0, 1] (logits instead of probabilities).

    Example:
        >>> as_probabilities([0.2, 0.9]).tolist()
        [[0.8, 0.2], [0.09999999999999998, 0.9]]
    """
    prob = np.asarray(y_prob, dtype=np.float64)
    if prob.ndim == 1:
        prob = prob[:, None]
    if prob.ndim != 2:
        raise ValueError(f"Probabilities must be (N, K), got shape {prob.shape}.")
    if not np.all(np.isfinite(prob)) or prob.min(initial=0) < -1e-4 or prob.max(initial=0) > 1 + 1e-4:
        raise ValueError(
            "Predictions must be probabilities in [0, 1] (the model should end in softmax or sigmoid); "
            f"got values from {np.nanmin(prob):.3g} to {np.nanmax(prob):.3g}."
        )
    prob = np.clip(prob, 0.0, 1.0)  # float32 softmax rounding
    if multi_label:
        return prob
    if prob.shape[1] == 1:
        return np.concatenate([1.0 - prob, prob], axis=1)
    sums = prob.sum(axis=1)
    if len(sums) and not np.allclose(sums, 1.0, atol=1e-3):
        warnings.warn(
            "Single-label probabilities do not sum to 1 per sample (sigmoid outputs?); normalising them. "
            "Pass multi_label=True if the task is multi-label.",
            stacklevel=3,
        )
        prob = prob / np.maximum(sums[:, None], EPSILON)
    return prob


def predict_labels(y_prob: np.ndarray, multi_label: bool, threshold: float = THRESHOLD) -> np.ndarray:
    """Arg-max class indices (N,), or for multi-label the 0/1 array `y_prob > threshold`.

    Args:
        y_prob: (N, K) probabilities.
        multi_label: threshold every label instead of taking the arg-max.
        threshold: the multi-label decision threshold.

    Returns:
        (N,) class indices, or (N, K) int64 0/1 for multi-label.

    Example:
        >>> predict_labels(np.array([[0.2, 0.8], [0.6, 0.4]]), multi_label=False).tolist()
        [1, 0]
    """
    if multi_label:
        return (y_prob > threshold).astype(np.int64)
    return np.argmax(y_prob, axis=1)


def sample_losses(y_true: np.ndarray, y_prob: np.ndarray, multi_label: bool) -> np.ndarray:
    """Per-sample cross-entropy, with probabilities clipped to [1e-7, 1 - 1e-7].

    Args:
        y_true: class indices (N,), or multi-hot (N, K) for multi-label.
        y_prob: (N, K) probabilities.
        multi_label: use the mean binary cross-entropy over the labels.

    Returns:
        (N,) float64 losses: `-log p(true class)` or the mean binary cross-entropy.

    Example:
        >>> sample_losses(np.array([1]), np.array([[0.5, 0.5]]), multi_label=False).round(4).tolist()
        [0.6931]
    """
    prob = np.clip(y_prob, EPSILON, 1 - EPSILON)
    if multi_label:
        return -np.mean(y_true * np.log(prob) + (1 - y_true) * np.log(1 - prob), axis=1)
    return -np.log(prob[np.arange(len(y_true)), y_true])


def infer_multi_label(labels: np.ndarray, probs: np.ndarray) -> bool:
    """Whether labels are multi-hot, or else whether probability rows are independent sigmoids.

    Args:
        labels: the raw labels.
        probs: the model's probabilities (N, K).

    Returns:
        True for a multi-label task.

    Example:
        >>> infer_multi_label(np.array([[1, 1], [0, 1]]), np.array([[0.9, 0.8], [0.1, 0.7]]))
        True
    """
    labels = np.asarray(labels)
    multi_hot = labels.ndim == 2 and labels.shape[1] > 1 and labels.dtype.kind in "biuf"
    if multi_hot and not np.allclose(labels.sum(axis=1), 1.0):
        return True
    if probs.ndim == 2 and probs.shape[1] > 1 and len(probs):
        return not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    return False


def check_class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The class names as strings, checked against the number of outputs; default `"0"`, `"1"`, ...

    Args:
        class_names: the names, or None.
        num_classes: the number of model outputs.

    Returns:
        `num_classes` names.

    Raises:
        ValueError: a count that does not match `num_classes`.

    Example:
        >>> check_class_names(None, 3)
        ['0', '1', '2']
    """
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} model outputs: {names[:10]}.")
    return names


def class_indices(y_true: np.ndarray | Sequence, num_classes: int) -> np.ndarray:
    """Single-label class indices (N,) from indices or one-hot rows, checked to be in range.

    Args:
        y_true: class indices (N,) (integers, or floats that are whole) or one-hot (N, K).
        num_classes: K.

    Returns:
        (N,) int64 class indices.

    Raises:
        ValueError: multi-hot rows, non-integer labels, or labels outside 0..K-1.

    Example:
        >>> class_indices(np.eye(3)[[2, 0]], 3).tolist()
        [2, 0]
    """
    labels = np.asarray(y_true)
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes > 1:
        if not np.allclose(labels.sum(axis=1), 1.0):
            raise ValueError("Single-label y_true rows must be one-hot; multi-hot rows need multi_label=True.")
        labels = np.argmax(labels, axis=1)  # one-hot
    labels = labels.reshape(-1)
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("Single-label y_true must hold class indices or one-hot rows.")
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iub":
        raise ValueError(f"y_true must hold class indices, got dtype {labels.dtype}.")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}.")
    return labels.astype(np.int64)


def multi_hot(y_true: np.ndarray | Sequence, num_labels: int) -> np.ndarray:
    """Multi-label truth as an (N, K) int64 0/1 array, checked.

    Args:
        y_true: (N, K) 0/1 values ((N,) when K is 1).
        num_labels: K.

    Returns:
        (N, K) int64 0/1.

    Raises:
        ValueError: another shape, or values other than 0 and 1.

    Example:
        >>> multi_hot([[1, 0], [1, 1]], 2).tolist()
        [[1, 0], [1, 1]]
    """
    labels = np.asarray(y_true)
    if labels.ndim == 1 and num_labels == 1:
        labels = labels[:, None]
    if labels.ndim != 2 or labels.shape[1] != num_labels:
        raise ValueError(f"Multi-label y_true must be (N, {num_labels}), got shape {labels.shape}.")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("Multi-label y_true must hold only 0 and 1.")
    return labels.astype(np.int64)


def encode_labels(
    labels: np.ndarray, names: Sequence[str] | None, probs: np.ndarray, multi_label: bool
) -> tuple[list[str] | None, np.ndarray]:
    """Class names and encoded labels (indices or multi-hot) from raw labels.

    Args:
        labels: raw labels: class names (strings), indices, one-hot or multi-hot rows.
        names: the class names, or None (string labels then give the sorted distinct labels).
        probs: the model's probabilities (their width gives the number of classes).
        multi_label: the task is multi-label (labels are kept as multi-hot rows).

    Returns:
        `(class names or None, labels)`: class indices (N,), or the multi-hot rows.

    Raises:
        ValueError: string labels that are not among `names`, or string multi-label labels.

    Example:
        >>> encode_labels(np.array(["dog", "cat"]), None, np.zeros((2, 2)), multi_label=False)
        (['cat', 'dog'], array([1, 0]))
    """
    labels = np.asarray(labels)
    if labels.dtype.kind in "USO":
        flat = [str(v) for v in labels.reshape(-1)]
        if names is None:
            names = sorted(set(flat))
        lookup = {name: i for i, name in enumerate(names)}
        unknown = sorted(set(flat) - set(lookup))
        if unknown:
            raise ValueError(f"Labels {unknown[:10]} are not among the class names {list(names)[:20]}.")
        indices = np.array([lookup[v] for v in flat], dtype=np.int64)
        if multi_label:
            raise ValueError("Multi-label labels must be multi-hot arrays, not strings.")
        return list(names), indices
    if multi_label:
        return names, labels
    width = probs.shape[1] if probs.ndim == 2 else 1
    num_classes = 2 if width == 1 else width
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    return names, class_indices(labels, num_classes)
