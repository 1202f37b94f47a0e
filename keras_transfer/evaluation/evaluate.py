"""`evaluate()`: runs a classifier on data and scores it into an `Evaluation`.

`evaluate` takes a model (or a `FitResult`) and arrays, a `tf.data.Dataset`
or anything `build_and_fit` reads; it predicts batch by batch, keeps the
highest-loss images for the report, and hands the labels and probabilities to
`compute_metrics`. The metrics themselves live in
`keras_transfer.evaluation.metrics`, the warnings in
`keras_transfer.evaluation.diagnostics`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_transfer.evaluation.calibration import CALIBRATION_BINS, calibration_bins, expected_calibration_error
from keras_transfer.evaluation.confusion import label_confusion_matrix, most_confused_pairs
from keras_transfer.evaluation.diagnostics import IMBALANCE_RATIO, imbalance_warnings, transfer_warnings
from keras_transfer.evaluation.labels import (
    EPSILON,
    THRESHOLD,
    as_probabilities,
    encode_labels,
    infer_multi_label,
    predict_labels,
    sample_losses,
)
from keras_transfer.evaluation.metrics import Evaluation, compute_metrics

# This module's own names, and the ones it had before it was split: `keras_transfer.evaluate` (the
# pre-0.2 path) and callers import them from here.
__all__ = [
    "CALIBRATION_BINS",
    "EPSILON",
    "IMBALANCE_RATIO",
    "KEEP_HARDEST",
    "THRESHOLD",
    "Evaluation",
    "as_probabilities",
    "calibration_bins",
    "compute_metrics",
    "evaluate",
    "expected_calibration_error",
    "imbalance_warnings",
    "infer_multi_label",
    "label_confusion_matrix",
    "most_confused_pairs",
    "predict_labels",
    "sample_losses",
    "transfer_warnings",
]

KEEP_HARDEST = 16  # images of the highest-loss samples `evaluate()` keeps for the gallery


def evaluate(
    model_or_result: Any,
    data: Any,
    *,
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    multi_label: bool | None = None,
    top_k: int = 5,
    keep_hardest: int = KEEP_HARDEST,
    source_data: Any = None,
) -> Evaluation:
    """Runs a classifier on data and scores it.

    Args:
        model_or_result: a `keras.Model` giving probabilities, or an object
            with `.model` and `.class_names` (a `FitResult`).
        data: `(x, y)` arrays, with pixels x (N, H, W, 3) in 0–255 and labels
            y as int indices, strings (class names), one-hot or multi-hot; a
            `tf.data.Dataset` of `(pixels, labels)` batches (extra elements
            such as sample weights are ignored); or anything `build_and_fit`
            reads: a class folder, CSV path, DataFrame, `(paths, labels)`,
            `"tfds:name:split"`, a `DataSpec` or an ImageDataGenerator flow.
        class_names: the class names; default: the result's `class_names`,
            else the sorted distinct string labels, else `"0"`, `"1"`, ...
        batch_size: prediction batch size for array data.
        multi_label: default: the result's `multi_label` if it has one, else
            True when the labels are multi-hot or the model's probability
            rows do not sum to 1 (independent sigmoids).
        top_k: k of the top-k accuracy.
        keep_hardest: how many of the highest-loss images to keep on the
            evaluation (for `plot_highest_loss` and the report), 0 for none.
        source_data: images of the domain the model was trained on (labels
            ignored; a folder, paths, an array or a tf.data of images). With
            them, `data` is taken as the target domain and the evaluation gains
            a domain section (`Evaluation.domain`): the target accuracy and the
            A-distance and 2-D PCA embedding of source and target features, for
            the pooled backbone features and, for an adapted model, its
            bottleneck (before and after adaptation). Needs a Keras classifier
            built by keras_transfer (in memory or a .keras file).

    Returns:
        An `Evaluation`.

    Example:
        >>> result = keras_transfer.build_and_fit("photos/", backbone="mobilenetv2")
        >>> ev = evaluate(result, (x_test, y_test))
        >>> print(ev)
    """
    model, names, result_multi_label = _unwrap(model_or_result)
    if source_data is not None:
        _check_domain_model(model)
    names = list(class_names) if class_names is not None else names
    if _is_data_source(data):
        data, names = _labelled_batches(model, data, names, batch_size)
    if multi_label is None:
        multi_label = result_multi_label if result_multi_label is not None else _model_multi_label(model)
    if _is_dataset(data):
        labels, probs, images, image_indices = _predict_dataset(model, data, keep_hardest, names, multi_label)
    else:
        labels, probs, images, image_indices = _predict_arrays(model, data, batch_size)
    if multi_label is None:
        multi_label = infer_multi_label(labels, probs)
    names, y_true = encode_labels(labels, names, probs, multi_label)
    evaluation = compute_metrics(y_true, probs, names, multi_label, top_k=top_k)
    _attach_hardest(evaluation, images, image_indices, keep_hardest)
    if source_data is not None:
        evaluation.domain = _domain_record(model, source_data, data, evaluation, batch_size)
    return evaluation


def _check_domain_model(model) -> None:
    import keras

    if not isinstance(model, keras.Model) or not model.layers:
        raise TypeError("evaluate(source_data=...) needs a Keras classifier built by keras_transfer (a FitResult, "
                        "its .model or a .keras file): a model without Keras layers has no features to compare.")


def _domain_record(model, source_data, data, evaluation: Evaluation, batch_size: int) -> dict[str, Any]:
    """The target accuracy and the source/target feature shift (`evaluate_domains`) of the evaluated images."""
    from keras_transfer.adaptation.domain_evaluation import evaluate_domains

    if _is_dataset(data):
        target = data.unbatch().map(lambda pixels, *_rest: pixels)
    else:
        target = np.asarray(data[0])
    found = evaluate_domains(model, source_data, target, batch_size=max(batch_size, 32))
    return {"target_accuracy": evaluation.accuracy, "shift": found["shift"]}


# --- running a model -----------------------------------------------------------------------------


def _unwrap(model_or_result) -> tuple[Any, list[str] | None, bool | None]:
    import keras

    if isinstance(model_or_result, keras.Model):
        return model_or_result, None, None
    model = getattr(model_or_result, "model", None)
    if model is None:
        raise TypeError(
            f"evaluate() takes a keras.Model or a result with .model and .class_names, got "
            f"{type(model_or_result).__name__}."
        )
    names = getattr(model_or_result, "class_names", None)
    try:
        multi_label = getattr(model_or_result, "multi_label", None)
    except (KeyError, TypeError):  # a result whose config does not say
        multi_label = None
    return model, list(names) if names is not None else None, multi_label


def _model_multi_label(model) -> bool | None:
    """True for several sigmoid outputs, False for softmax or one sigmoid, None when unknown."""
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    units = model.output_shape[-1] if isinstance(getattr(model, "output_shape", None), tuple) else None
    if activation == "softmax" or (activation == "sigmoid" and units == 1):
        return False
    if activation == "sigmoid" and units and units > 1:
        return True
    return None


def _is_data_source(data) -> bool:
    """Data that `keras_transfer.data` reads: a folder, CSV, DataFrame, tfds name, paths, a spec or a flow."""
    import pandas as pd

    from keras_transfer.data.sources import DataSpec, _is_path_list

    if getattr(data, "keras_transfer_flow", None) is not None:
        return True
    if isinstance(data, (str, os.PathLike, pd.DataFrame, DataSpec)):
        return True
    return isinstance(data, (tuple, list)) and len(data) == 2 and _is_path_list(data[0])


def _labelled_batches(model, data, names, batch_size: int):
    """(pixels, labels) batches at the model's input size, read (and scanned) like training data."""
    from keras_transfer.data.pipeline import pixels_dataset
    from keras_transfer.data.sources import to_spec

    spec = to_spec(data, class_names=names, role="evaluation")
    size = tuple(int(side) for side in model.input_shape[1:3])
    return pixels_dataset(spec, size).batch(batch_size), list(spec.class_names)


def _is_dataset(data) -> bool:
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)


def _predict_arrays(model, data, batch_size: int):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            "evaluate() data must be (x, y) arrays or a tf.data.Dataset of (pixels, labels) batches, "
            f"got {type(data).__name__}."
        )
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    return y, probs, x, None


def _predict_dataset(model, dataset, keep: int, names, multi_label):
    """Predicts batch by batch in one pass, so labels stay aligned even if the dataset reshuffles."""
    import tensorflow as tf

    # One traced function for every batch size (a smaller last batch would retrace predict_on_batch).
    predict = tf.function(lambda pixels: model(pixels, training=False), reduce_retracing=True)
    labels, probs, hardest = [], [], _HardestKeeper(keep)
    for batch in dataset:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("The dataset must yield (pixels, labels) batches.")
        x, y = batch[0], _to_numpy(batch[1])
        prob = np.asarray(predict(x), dtype=np.float64)
        labels.append(y)
        probs.append(prob)
        hardest.offer(x, y, prob, names, multi_label)
    if not labels:
        raise ValueError("The dataset is empty.")
    return np.concatenate(labels), np.concatenate(probs), hardest.images(), hardest.indices()


def _to_numpy(value) -> np.ndarray:
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype.kind in "SO":
        array = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in array.reshape(-1)])
    return array


class _HardestKeeper:
    """Keeps the pixels of the `keep` highest-loss samples seen so far, over batches."""

    def __init__(self, keep: int):
        self.keep = keep
        self.offset = 0
        self._losses = np.zeros(0)
        self._indices = np.zeros(0, dtype=np.int64)
        self._images: np.ndarray | None = None

    def offer(self, x, y, prob, names, multi_label):
        size = len(prob)
        start, self.offset = self.offset, self.offset + size
        if not self.keep or not size:
            return
        if names is None and np.asarray(y).dtype.kind in "USO":
            return  # string labels need the class names to be scored batch by batch
        try:
            multi = infer_multi_label(y, prob) if multi_label is None else multi_label
            _, y_true = encode_labels(y, names, prob, multi)
            losses = sample_losses(y_true, as_probabilities(prob, multi), multi)
        except ValueError:
            return  # labels not decodable batch by batch (e.g. strings without class names)
        images = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
        candidates = np.concatenate([self._losses, losses])
        indices = np.concatenate([self._indices, np.arange(start, start + size)])
        pool = images if self._images is None else np.concatenate([self._images, images])
        order = np.argsort(-candidates, kind="stable")[: self.keep]
        self._losses, self._indices, self._images = candidates[order], indices[order], pool[order]

    def images(self) -> np.ndarray | None:
        return self._images

    def indices(self) -> np.ndarray | None:
        return self._indices if self._images is not None else None


def _attach_hardest(evaluation: Evaluation, images, indices, keep: int) -> None:
    if not keep or images is None:
        return
    if indices is None:  # arrays: every image is there
        indices = evaluation.highest_loss(keep)
        images = images[indices]
    evaluation.hardest_indices = np.asarray(indices, dtype=np.int64)
    evaluation.hardest_images = np.asarray(images)
