"""The loss, metrics and class weights for a task (categorical, binary or multi-label)."""

from __future__ import annotations

import keras
import numpy as np

from keras_transfer.data.pipeline import label_mode
from keras_transfer.data.sources import DataSpec


def loss_and_metrics(spec: DataSpec, label_smoothing: float = 0.1):
    """The loss and metrics for a task: categorical, binary or multi-label.

    Args:
        spec: the training data (its label mode and number of classes decide).
        label_smoothing: the loss' label smoothing.

    Returns:
        `(loss, [metrics])`: categorical cross-entropy with accuracy (and top-5
        accuracy above 5 classes), or binary cross-entropy with accuracy and AUC.

    Example:
        >>> loss, metrics = loss_and_metrics(train_spec)
        >>> model.compile(optimizer="adamw", loss=loss, metrics=metrics)
    """
    mode = label_mode(spec)
    if mode == "categorical":
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        if spec.num_classes > 5:
            metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), metrics
    if mode == "binary":
        return (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing),
                [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")])
    return (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing),
            [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc", multi_label=True)])


def resolve_class_weight(class_weight, spec: DataSpec) -> dict[int, float] | None:
    """`"balanced"` → n / (classes × count) per class; a dict passes through; None → None.

    Args:
        class_weight: None, `"balanced"` or `{class index: weight}`.
        spec: the training data (its labels, for `"balanced"`).

    Returns:
        `{class index: weight}` for `model.fit`, or None.

    Example:
        >>> resolve_class_weight("balanced", train_spec)
        {0: 0.8, 1: 1.333...}
    """
    if class_weight is None:
        return None
    if spec.multi_label:
        raise ValueError("class_weight is not supported for multi-label data: Keras weighs whole samples.")
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}.")
        counts = np.bincount(spec.labels, minlength=spec.num_classes).astype(float)
        present = counts > 0
        weights = np.where(present, len(spec) / (present.sum() * np.maximum(counts, 1)), 0.0)
        return {index: float(weight) for index, weight in enumerate(weights)}
    return {int(key): float(value) for key, value in dict(class_weight).items()}
