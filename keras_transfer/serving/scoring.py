"""How an exported file is scored: accuracy on the validation data, and agreement with the Keras model.

The TFLite and ONNX files are both checked this way; the numbers go into
`keras_transfer.json`.
"""

from __future__ import annotations

import numpy as np

from keras_transfer.serving.spec import ServingSpec


def label_indices(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer class indices from integer labels or one-hot rows.

    Args:
        labels: (N,) integer labels or (N, num_classes) one-hot rows.
        num_classes: the number of classes.

    Returns:
        (N,) int64 class indices.

    Example:
        >>> label_indices(np.eye(3)[[2, 0]], 3).tolist()
        [2, 0]
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes > 1:
        return labels.argmax(axis=1)
    return labels.reshape(len(labels)).astype(np.int64)


def accuracy(probabilities: np.ndarray, labels: np.ndarray, spec: ServingSpec) -> float:
    """Top-1 accuracy, or per-label accuracy at 0.5 for multi-label.

    Args:
        probabilities: (N, classes) probabilities.
        labels: integer labels, one-hot rows, or multi-hot rows for multi-label.
        spec: the `ServingSpec` (its class count and `multi_label`).

    Returns:
        The accuracy in [0, 1].

    Example:
        >>> accuracy(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0, 0]), spec)
        0.5
    """
    if spec.multi_label:
        truth = np.asarray(labels).reshape(probabilities.shape) > 0.5
        return float(np.mean((probabilities > 0.5) == truth))
    return float(np.mean(probabilities.argmax(axis=1) == label_indices(labels, len(spec.class_names))))


def compare_with_keras(
    probabilities: np.ndarray, validation: tuple[np.ndarray, np.ndarray], reference: np.ndarray, spec: ServingSpec
) -> dict[str, float]:
    """Scores an exported file's probabilities on the validation data and against the Keras model's.

    Args:
        probabilities: the exported file's probabilities on the validation pixels.
        validation: `(pixels, labels)`.
        reference: the Keras model's probabilities on the same pixels.
        spec: the `ServingSpec`.

    Returns:
        `{"accuracy", "agreement_with_keras", "max_abs_diff_vs_keras"}`:
        accuracy on the labels, the share of images whose top-1 class equals
        the Keras model's, and the largest probability difference.

    Example:
        >>> compare_with_keras(run_tflite(path, pixels), (pixels, labels), keras_probabilities, spec)
        {'accuracy': 0.95, 'agreement_with_keras': 1.0, 'max_abs_diff_vs_keras': 0.0012}
    """
    return {
        "accuracy": accuracy(probabilities, validation[1], spec),
        "agreement_with_keras": float(np.mean(probabilities.argmax(axis=1) == reference.argmax(axis=1))),
        "max_abs_diff_vs_keras": float(np.abs(probabilities - reference).max()),
    }
