"""Evaluation metrics: `evaluate()` runs a model on data, `compute_metrics()` scores probabilities.

Everything is computed from two arrays, the true labels and the predicted
probabilities, so the same `Evaluation` comes out whatever the data source.

Conventions:

* Single-label: `y_true` holds class indices (N,), `y_prob` one probability
  per class (N, K). A binary model's single sigmoid column P(class 1) is
  turned into the two columns `[1 - p, p]`. The prediction is the arg-max.
* Multi-label: `y_true` and `y_prob` are (N, K); a label is predicted when its
  probability is above `threshold` (0.5), as Keras' `BinaryAccuracy` does.
* zero_division: a precision, recall or F1 whose denominator is zero (a class
  never predicted, or never present) is 0, never NaN, and counts as 0 in the
  macro and weighted averages. A ROC AUC that is undefined (a label with only
  positives or only negatives) is NaN in the arrays and None in `to_dict()`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] in losses, as Keras does
CALIBRATION_BINS = 15
THRESHOLD = 0.5
KEEP_HARDEST = 16  # images of the highest-loss samples `evaluate()` keeps for the gallery


@dataclass(repr=False)
class Evaluation:
    """The scores of a classifier on one data set.

    Per-class arrays are in the order of `class_names`. Scalars that do not
    apply to the task (e.g. `hamming_loss` for single-label) are None.

    Attributes:
        class_names: the class (or label) names, K of them.
        multi_label: whether the task is multi-label.
        y_true: single-label: class indices (N,); multi-label: 0/1 array (N, K).
        y_prob: predicted probabilities (N, K), float64.
        losses: per-sample cross-entropy (N,): `-log p(true class)`, or for
            multi-label the mean binary cross-entropy over the labels.
        accuracy: single-label: fraction of correct arg-max predictions;
            multi-label: subset accuracy (every label right).
        top_k: the k of `top_k_accuracy`, or None when k >= K (it would always be 1).
        top_k_accuracy: fraction of samples whose true class is among the k
            most probable (single-label only).
        precision, recall, f1: per class (K,), zero_division 0.
        support: per class (K,): number of true samples (positives, for multi-label).
        auc: per-class ROC AUC (K,): for multi-label and binary tasks, else None.
        macro, weighted: `{"precision", "recall", "f1"}` averaged over the
            classes, unweighted or weighted by support.
        micro_f1: multi-label F1 over every (sample, label) decision.
        roc_auc: binary: AUC of P(class 1); multi-label: mean of the defined per-label AUCs.
        subset_accuracy, hamming_loss: multi-label only.
        confusion_matrix: (K, K) counts, rows = true class, columns = predicted.
            Multi-label: cell (i, j) counts samples where label i is true and
            label j predicted; the diagonal holds the true positives, the
            off-diagonal cells false positives of j that co-occur with i.
        log_loss: mean of `losses`.
        ece: expected calibration error over `CALIBRATION_BINS` equal-width
            bins. Single-label: of the top-1 confidence against accuracy;
            multi-label: of every label probability against the fraction of
            positives (a calibration curve).
        calibration: the bins behind `ece`: `edges` (bins + 1), and per bin
            `count`, `accuracy` (observed frequency) and `confidence` (mean
            predicted probability); empty bins hold NaN.
        threshold: multi-label decision threshold.
        hardest_indices, hardest_images: set by `evaluate()`: the indices
            (into `y_true`) and pixels of the highest-loss samples, most
            wrong first, for `plot_highest_loss`.
    """

    class_names: list[str]
    multi_label: bool
    y_true: np.ndarray
    y_prob: np.ndarray
    losses: np.ndarray
    accuracy: float
    top_k: int | None
    top_k_accuracy: float | None
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    auc: np.ndarray | None
    macro: dict[str, float]
    weighted: dict[str, float]
    micro_f1: float | None
    roc_auc: float | None
    subset_accuracy: float | None
    hamming_loss: float | None
    confusion_matrix: np.ndarray
    log_loss: float
    ece: float
    calibration: dict[str, np.ndarray]
    threshold: float = THRESHOLD
    hardest_indices: np.ndarray | None = None
    hardest_images: np.ndarray | None = field(default=None)

    @property
    def num_samples(self) -> int:
        """Number of evaluated samples."""
        return len(self.y_prob)

    @property
    def y_pred(self) -> np.ndarray:
        """Predictions: class indices (N,), or for multi-label a 0/1 array (N, K)."""
        return predict_labels(self.y_prob, self.multi_label, self.threshold)

    def scalars(self) -> dict[str, float | int | None]:
        """The headline numbers, in display order, without the task's N/A ones."""
        values: dict[str, Any] = {"samples": self.num_samples}
        if self.multi_label:
            values.update(subset_accuracy=self.subset_accuracy, micro_f1=self.micro_f1, macro_f1=self.macro["f1"],
                          hamming_loss=self.hamming_loss)
        else:
            values["accuracy"] = self.accuracy
            if self.top_k is not None:
                values[f"top_{self.top_k}_accuracy"] = self.top_k_accuracy
            values.update(macro_f1=self.macro["f1"], weighted_f1=self.weighted["f1"])
            values.update(macro_precision=self.macro["precision"], macro_recall=self.macro["recall"])
        if self.roc_auc is not None:
            values["roc_auc"] = self.roc_auc
        values.update(log_loss=self.log_loss, ece=self.ece)
        return values

    def most_confused(self, n: int = 10) -> list[dict[str, Any]]:
        """The `n` largest off-diagonal cells of the confusion matrix.

        Args:
            n: how many pairs.

        Returns:
            Dicts `{"true", "predicted", "count", "fraction"}`, most frequent
            first (ties: larger fraction of the true class, then class order);
            `fraction` is count / support of the true class. Pairs with a zero
            count are left out.

        Example:
            >>> evaluation.most_confused(3)
            [{'true': 'cat', 'predicted': 'dog', 'count': 7, 'fraction': 0.14}, ...]
        """
        return most_confused_pairs(self.confusion_matrix, self.support, self.class_names, n)

    def highest_loss(self, n: int = 16) -> np.ndarray:
        """Indices of the `n` samples with the highest loss, highest first (ties: lower index first)."""
        return np.argsort(-self.losses, kind="stable")[:n]

    def to_dict(self, include_predictions: bool = False) -> dict[str, Any]:
        """A JSON-able dict of every metric (NaN becomes None).

        Args:
            include_predictions: also include `y_true`, `y_prob` and `losses`.

        Returns:
            Scalars at the top level, plus `per_class` ({name: {precision,
            recall, f1, support[, auc]}}), `macro`, `weighted`,
            `confusion_matrix` (nested lists) and `calibration`.

        Example:
            >>> json.dumps(evaluation.to_dict())
        """
        out: dict[str, Any] = {
            "task": "multi_label" if self.multi_label else "single_label",
            "class_names": list(self.class_names),
            "num_samples": self.num_samples,
            "accuracy": self.accuracy,
            "top_k": self.top_k,
            "top_k_accuracy": self.top_k_accuracy,
            "micro_f1": self.micro_f1,
            "roc_auc": self.roc_auc,
            "subset_accuracy": self.subset_accuracy,
            "hamming_loss": self.hamming_loss,
            "log_loss": self.log_loss,
            "ece": self.ece,
            "threshold": self.threshold if self.multi_label else None,
            "macro": dict(self.macro),
            "weighted": dict(self.weighted),
            "per_class": self.to_dataframe().to_dict(orient="index"),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "calibration": {key: value.tolist() for key, value in self.calibration.items()},
        }
        if include_predictions:
            out.update(y_true=self.y_true.tolist(), y_prob=self.y_prob.tolist(), losses=self.losses.tolist())
        return _jsonable(out)

    def to_dataframe(self):
        """The per-class table as a pandas DataFrame.

        Returns:
            One row per class (index: class name) with the columns precision,
            recall, f1, support, and auc for binary and multi-label tasks.

        Example:
            >>> evaluation.to_dataframe().sort_values("f1").head()
        """
        import pandas as pd

        columns = {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support.astype(int),
        }
        if self.auc is not None:
            columns["auc"] = self.auc
        frame = pd.DataFrame(columns, index=pd.Index(self.class_names, name="class"))
        return frame

    def __repr__(self) -> str:
        kind = "labels, multi-label" if self.multi_label else "classes"
        head = f"Evaluation({self.num_samples} samples, {len(self.class_names)} {kind})"
        scalars = {k: v for k, v in self.scalars().items() if k != "samples" and v is not None}
        line = "  ".join(f"{name} {value:.4f}" for name, value in scalars.items())
        table = self.to_dataframe()
        shown = table.head(20).to_string(float_format=lambda v: f"{v:.3f}")
        more = f"\n  ... {len(table) - 20} more classes" if len(table) > 20 else ""
        return f"{head}\n  {line}\n" + "\n".join("  " + row for row in shown.splitlines()) + more


def compute_metrics(
    y_true: np.ndarray | Sequence,
    y_prob: np.ndarray | Sequence,
    class_names: Sequence[str] | None = None,
    multi_label: bool = False,
    losses: np.ndarray | None = None,
    *,
    top_k: int = 5,
    threshold: float = THRESHOLD,
    bins: int = CALIBRATION_BINS,
) -> Evaluation:
    """Scores predicted probabilities against the true labels.

    Args:
        y_true: single-label: class indices (N,) or one-hot (N, K);
            multi-label: 0/1 array (N, K).
        y_prob: probabilities (N, K); for a binary single-label task also the
            sigmoid output P(class 1) as (N,) or (N, 1).
        class_names: K names; default `"0"`, `"1"`, ...
        multi_label: score as a multi-label task.
        losses: per-sample losses to keep instead of the cross-entropy
            computed here (e.g. with label smoothing); `log_loss` stays the
            plain cross-entropy.
        top_k: k of the top-k accuracy.
        threshold: multi-label decision threshold (a label is predicted when p > threshold).
        bins: number of calibration bins.

    Returns:
        An `Evaluation`.

    Raises:
        ValueError: on mismatched shapes, labels out of range or values
            outside [0, 1] (logits instead of probabilities).

    Example:
        >>> ev = compute_metrics([0, 1, 1], [0.2, 0.9, 0.4], class_names=["cat", "dog"])
        >>> round(ev.accuracy, 3), ev.precision.tolist()
        (0.667, [0.5, 1.0])
    """
    y_prob = as_probabilities(y_prob, multi_label)
    if not len(y_prob):
        raise ValueError("No samples to evaluate.")
    num_classes = y_prob.shape[1]
    names = _class_names(class_names, num_classes)
    y_true = _multi_hot(y_true, num_classes) if multi_label else _class_indices(y_true, num_classes)
    if len(y_true) != len(y_prob):
        raise ValueError(f"{len(y_true)} labels for {len(y_prob)} predictions.")
    if multi_label:
        scores = _multi_label_scores(y_true, y_prob, threshold)
    else:
        scores = _single_label_scores(y_true, y_prob, top_k)
    cross_entropy = sample_losses(y_true, y_prob, multi_label)
    if losses is not None:
        losses = np.asarray(losses, dtype=np.float64).reshape(-1)
        if len(losses) != len(y_prob):
            raise ValueError(f"losses has {len(losses)} values for {len(y_prob)} samples.")
    calibration = calibration_bins(y_true, y_prob, multi_label, bins)
    return Evaluation(
        class_names=names,
        multi_label=multi_label,
        y_true=y_true,
        y_prob=y_prob,
        losses=cross_entropy if losses is None else losses,
        log_loss=float(cross_entropy.mean()),
        ece=expected_calibration_error(calibration),
        calibration=calibration,
        threshold=threshold,
        **scores,
    )


def evaluate(
    model_or_result: Any,
    data: Any,
    *,
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    multi_label: bool | None = None,
    top_k: int = 5,
    keep_hardest: int = KEEP_HARDEST,
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

    Returns:
        An `Evaluation`.

    Example:
        >>> result = keras_transfer.build_and_fit("photos/", backbone="mobilenetv2")
        >>> ev = evaluate(result, (x_test, y_test))
        >>> print(ev)
    """
    model, names, result_multi_label = _unwrap(model_or_result)
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
    names, y_true = _encode_labels(labels, names, probs, multi_label)
    evaluation = compute_metrics(y_true, probs, names, multi_label, top_k=top_k)
    _attach_hardest(evaluation, images, image_indices, keep_hardest)
    return evaluation


# --- probabilities and labels ------------------------------------------------------------------


def as_probabilities(y_prob: np.ndarray | Sequence, multi_label: bool = False) -> np.ndarray:
    """Validated (N, K) float64 probabilities; a single-label sigmoid column becomes `[1 - p, p]`.

    Args:
        y_prob: (N,), (N, 1) or (N, K) probabilities.
        multi_label: multi-label outputs are never expanded.

    Returns:
        An (N, K) float64 array. Single-label rows that do not sum to 1 are
        normalised, with a warning.
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
    """Arg-max class indices (N,), or for multi-label the 0/1 array `y_prob > threshold`."""
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
    """
    prob = np.clip(y_prob, EPSILON, 1 - EPSILON)
    if multi_label:
        return -np.mean(y_true * np.log(prob) + (1 - y_true) * np.log(1 - prob), axis=1)
    return -np.log(prob[np.arange(len(y_true)), y_true])


def infer_multi_label(labels: np.ndarray, probs: np.ndarray) -> bool:
    """Whether labels are multi-hot, or else whether probability rows are independent sigmoids."""
    labels = np.asarray(labels)
    multi_hot = labels.ndim == 2 and labels.shape[1] > 1 and labels.dtype.kind in "biuf"
    if multi_hot and not np.allclose(labels.sum(axis=1), 1.0):
        return True
    if probs.ndim == 2 and probs.shape[1] > 1 and len(probs):
        return not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    return False


def _class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} model outputs: {names[:10]}.")
    return names


def _class_indices(y_true, num_classes: int) -> np.ndarray:
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


def _multi_hot(y_true, num_labels: int) -> np.ndarray:
    labels = np.asarray(y_true)
    if labels.ndim == 1 and num_labels == 1:
        labels = labels[:, None]
    if labels.ndim != 2 or labels.shape[1] != num_labels:
        raise ValueError(f"Multi-label y_true must be (N, {num_labels}), got shape {labels.shape}.")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("Multi-label y_true must hold only 0 and 1.")
    return labels.astype(np.int64)


# --- scores --------------------------------------------------------------------------------------


def _per_class(y_true, y_pred, labels, average=None) -> tuple:
    return skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)


def _averages(y_true, y_pred, labels) -> tuple[dict[str, float], dict[str, float]]:
    averaged = []
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = _per_class(y_true, y_pred, labels, average)
        averaged.append({"precision": float(precision), "recall": float(recall), "f1": float(f1)})
    return averaged[0], averaged[1]


def _single_label_scores(y_true: np.ndarray, y_prob: np.ndarray, top_k: int) -> dict[str, Any]:
    num_classes = y_prob.shape[1]
    labels = list(range(num_classes))
    y_pred = np.argmax(y_prob, axis=1)
    precision, recall, f1, support = _per_class(y_true, y_pred, labels)
    macro, weighted = _averages(y_true, y_pred, labels)
    k = top_k if top_k < num_classes else None
    auc = None
    roc_auc = None
    if num_classes == 2:
        roc_auc = _auc(y_true, y_prob[:, 1])
        auc = np.array([roc_auc, roc_auc], dtype=np.float64)
    return {
        "accuracy": float(np.mean(y_pred == y_true)) if len(y_true) else math.nan,
        "top_k": k,
        "top_k_accuracy": _top_k_accuracy(y_true, y_prob, k) if k else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
        "auc": auc,
        "macro": macro,
        "weighted": weighted,
        "micro_f1": None,
        "roc_auc": None if roc_auc is None or math.isnan(roc_auc) else roc_auc,
        "subset_accuracy": None,
        "hamming_loss": None,
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels),
    }


def _multi_label_scores(y_true: np.ndarray, y_prob: np.ndarray, threshold: float) -> dict[str, Any]:
    num_labels = y_prob.shape[1]
    labels = list(range(num_labels))
    y_pred = predict_labels(y_prob, True, threshold)
    precision, recall, f1, support = _per_class(y_true, y_pred, labels)
    macro, weighted = _averages(y_true, y_pred, labels)
    auc = np.array([_auc(y_true[:, i], y_prob[:, i]) for i in labels], dtype=np.float64)
    defined = auc[~np.isnan(auc)]
    subset = float(np.mean(np.all(y_pred == y_true, axis=1))) if len(y_true) else math.nan
    return {
        "accuracy": subset,
        "top_k": None,
        "top_k_accuracy": None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support,
        "auc": auc,
        "macro": macro,
        "weighted": weighted,
        "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "roc_auc": float(defined.mean()) if len(defined) else None,
        "subset_accuracy": subset,
        "hamming_loss": float(np.mean(y_pred != y_true)) if y_true.size else math.nan,
        "confusion_matrix": label_confusion_matrix(y_true, y_pred),
    }


def _auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present."""
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(skm.roc_auc_score(y_true, score))


def _top_k_accuracy(y_true: np.ndarray, y_prob: np.ndarray, k: int) -> float:
    if not len(y_true):
        return math.nan
    return float(skm.top_k_accuracy_score(y_true, y_prob, k=k, labels=list(range(y_prob.shape[1]))))


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
    """
    true = y_true.astype(np.int64)
    false_positive = (y_pred * (1 - y_true)).astype(np.int64)
    matrix = true.T @ false_positive
    np.fill_diagonal(matrix, np.sum(true * y_pred, axis=0))
    return matrix


def most_confused_pairs(
    confusion: np.ndarray, support: np.ndarray, class_names: Sequence[str], n: int = 10
) -> list[dict[str, Any]]:
    """The `n` largest off-diagonal confusion-matrix cells; see `Evaluation.most_confused`."""
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


# --- calibration ---------------------------------------------------------------------------------


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
    """ECE: the count-weighted mean |accuracy - confidence| over the non-empty bins."""
    count = calibration["count"]
    total = count.sum()
    if not total:
        return math.nan
    filled = count > 0
    gaps = np.abs(calibration["accuracy"][filled] - calibration["confidence"][filled])
    return float(np.sum(gaps * count[filled]) / total)


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
            _, y_true = _encode_labels(y, names, prob, multi)
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


def _encode_labels(labels, names, probs, multi_label: bool) -> tuple[list[str] | None, np.ndarray]:
    """Class names and encoded labels (indices or multi-hot) from raw labels."""
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
    return names, _class_indices(labels, num_classes)


def _attach_hardest(evaluation: Evaluation, images, indices, keep: int) -> None:
    if not keep or images is None:
        return
    if indices is None:  # arrays: every image is there
        indices = evaluation.highest_loss(keep)
        images = images[indices]
    evaluation.hardest_indices = np.asarray(indices, dtype=np.int64)
    evaluation.hardest_images = np.asarray(images)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    return value



# --- baselines and warnings ----------------------------------------------------------------------

IMBALANCE_RATIO = 3.0
_BASELINE_ADVICE = {
    "linear_probe": (
        "a frozen backbone with only the head trained. Unfreezing hurt: lower the fine-tuning learning "
        "rate, unfreeze fewer blocks, or keep the head-only weights."
    ),
    "scratch": (
        "the same network trained from random weights. The pretrained features do not suit this data "
        "(a domain far from ImageNet?): try another backbone, longer fine-tuning, or training from scratch."
    ),
}
_SELF_NAMES = {"fine_tuned", "fine-tuned", "finetuned", "final"}


def _baseline_score(value: Any, metric: str) -> float | None:
    if isinstance(value, dict):
        value = value.get(metric)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def transfer_warnings(
    fine_tuned_score: float | None,
    baselines: dict[str, Any] | None,
    stage_scores: Sequence[tuple[str, float | None]] | None = None,
    *,
    metric: str = "accuracy",
    higher_is_better: bool = True,
    tolerance: float = 0.0,
) -> list[str]:
    """Warnings for negative transfer: fine-tuning that scores below a baseline or below its head-only stage.

    Args:
        fine_tuned_score: the final model's validation score on `metric`.
        baselines: `{name: score}` or `{name: {metric: score, ...}}`, e.g.
            `linear_probe` (frozen backbone, head only) and `scratch` (random
            init). An entry named `fine_tuned` is the model itself and is skipped.
        stage_scores: `[(stage_name, best score), ...]` in run order; the
            first entry is taken as the head-only (frozen backbone) stage and
            every later, unfrozen stage is compared with it.
        metric: the metric's name, for the messages and to pick it from dict baselines.
        higher_is_better: False for losses.
        tolerance: differences up to this much are not reported (noise).

    Returns:
        One plain-English sentence per problem found; empty when there is none.
        Missing (None/NaN) scores are skipped.

    Example:
        >>> for line in transfer_warnings(0.81, {"linear_probe": 0.85}, [("head", 0.84), ("all", 0.81)]):
        ...     print(line)
        Negative transfer: the fine-tuned model's accuracy (0.8100) is below the linear_probe baseline's (0.8500), ...
        Stage 'all' (backbone unfrozen) reached accuracy 0.8100, worse than the head-only stage 'head' (0.8400): ...
    """
    sign = 1.0 if higher_is_better else -1.0

    def worse(score: float, reference: float) -> bool:
        return sign * (reference - score) > tolerance

    found = []
    if fine_tuned_score is not None and not math.isnan(fine_tuned_score):
        for name, value in (baselines or {}).items():
            reference = _baseline_score(value, metric)
            if name in _SELF_NAMES or reference is None or not worse(fine_tuned_score, reference):
                continue
            advice = _BASELINE_ADVICE.get(name, "fine-tuning did not beat it; check the learning rates and stages.")
            found.append(
                f"Negative transfer: the fine-tuned model's {metric} ({fine_tuned_score:.4f}) is "
                f"{'below' if higher_is_better else 'worse than'} the {name} baseline's ({reference:.4f}), "
                f"{advice}"
            )
    found.extend(_stage_warnings(list(stage_scores or []), metric, worse))
    return found


def _stage_warnings(stage_scores: list, metric: str, worse) -> list[str]:
    if len(stage_scores) < 2 or stage_scores[0][1] is None:
        return []
    head_name, head = stage_scores[0][0], float(stage_scores[0][1])
    found = []
    for name, score in stage_scores[1:]:
        if score is None or math.isnan(float(score)) or not worse(float(score), head):
            continue
        found.append(
            f"Stage '{name}' (backbone unfrozen) reached {metric} {float(score):.4f}, worse than the head-only "
            f"stage '{head_name}' ({head:.4f}): unfreezing hurt. Lower its learning rate or unfreeze fewer "
            "blocks; the head-only weights are the better ones."
        )
    return found


def imbalance_warnings(
    counts: dict[str, int] | None, *, ratio: float = IMBALANCE_RATIO, split: str = "training"
) -> list[str]:
    """A warning when the largest class has more than `ratio` times the samples of the smallest.

    Args:
        counts: `{class_name: number of samples}`.
        ratio: the max/min ratio above which to warn.
        split: the data's name in the message.

    Returns:
        A list with one sentence, or empty when the classes are balanced enough.

    Example:
        >>> imbalance_warnings({"cat": 90, "dog": 10})
        ["Class imbalance in the training data: 'cat' has 90 samples, 'dog' only 10 (9.0×, above 3×). ..."]
    """
    if not counts or len(counts) < 2:
        return []
    largest = max(counts, key=lambda name: counts[name])
    smallest = min(counts, key=lambda name: counts[name])
    high, low = counts[largest], counts[smallest]
    if low > 0 and high / low <= ratio:
        return []
    times = f"{high / low:.1f}×, above {ratio:g}×" if low else "no samples at all"
    message = (
        f"Class imbalance in the {split} data: '{largest}' has {high} samples, '{smallest}' only {low} "
        f"({times}). Accuracy flatters the large classes: read the per-class recall and macro F1, and "
        "consider class weights or more data for the small classes."
    )
    return [message]
