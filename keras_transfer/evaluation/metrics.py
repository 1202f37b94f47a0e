"""Metrics: `compute_metrics()` scores predicted probabilities into an `Evaluation`.

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics as skm

from keras_transfer.evaluation.calibration import CALIBRATION_BINS, calibration_bins, expected_calibration_error
from keras_transfer.evaluation.confusion import label_confusion_matrix, most_confused_pairs
from keras_transfer.evaluation.labels import (
    THRESHOLD,
    as_probabilities,
    check_class_names,
    class_indices,
    multi_hot,
    predict_labels,
    sample_losses,
)
from keras_transfer.serialization import to_jsonable

if TYPE_CHECKING:
    import pandas as pd


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
        domain: set by `evaluate(source_data=...)`: `{"target_accuracy",
            "shift": {features: {"a_distance", "embedding"}}}`, the evaluated
            data being the target domain.

    Example:
        >>> evaluation = compute_metrics([0, 1, 1], [0.2, 0.9, 0.4], class_names=["cat", "dog"])
        >>> evaluation.accuracy, evaluation.confusion_matrix.tolist()
        (0.6666666666666666, [[1, 0], [1, 1]])
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
    domain: dict[str, Any] | None = None

    @property
    def num_samples(self) -> int:
        """Number of evaluated samples."""
        return len(self.y_prob)

    @property
    def y_pred(self) -> np.ndarray:
        """Predictions: class indices (N,), or for multi-label a 0/1 array (N, K)."""
        return predict_labels(self.y_prob, self.multi_label, self.threshold)

    def scalars(self) -> dict[str, float | int | None]:
        """The headline numbers, in display order, without the task's N/A ones.

        Returns:
            `{"samples", "accuracy", "top_5_accuracy", "macro_f1", ..., "log_loss", "ece"}`
            for single-label; subset accuracy, micro/macro F1 and Hamming loss for multi-label.

        Example:
            >>> evaluation.scalars()["accuracy"]
            0.9
        """
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
        """Indices of the `n` samples with the highest loss, highest first (ties: lower index first).

        Args:
            n: how many samples.

        Returns:
            (n,) indices into `y_true`.

        Example:
            >>> evaluation.highest_loss(2)
            array([4, 5])
        """
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
        if self.domain is not None:  # the A-distances; the embeddings are for the plot
            out["domain"] = {"target_accuracy": self.domain["target_accuracy"],
                             "a_distance": self.a_distances()}
        return to_jsonable(out)

    def a_distances(self) -> dict[str, float]:
        """`{feature space: A-distance}` of the domain section (empty without one).

        Example:
            >>> evaluate(result, target, source_data=source).a_distances()
            {'pooled backbone features': 1.98, 'bottleneck': 0.93}
        """
        shifts = (self.domain or {}).get("shift", {})
        return {name: float(record["a_distance"]) for name, record in shifts.items()}

    def to_dataframe(self) -> pd.DataFrame:
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
        domain = "" if self.domain is None else "\n  domain: the data as target; A-distance " + ", ".join(
            f"{name} {value:.3f}" for name, value in self.a_distances().items())
        return f"{head}\n  {line}\n" + "\n".join("  " + row for row in shown.splitlines()) + more + domain


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
    names = check_class_names(class_names, num_classes)
    y_true = multi_hot(y_true, num_classes) if multi_label else class_indices(y_true, num_classes)
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


# --- scores --------------------------------------------------------------------------------------


def _per_class(y_true, y_pred, labels, average=None) -> tuple:
    return skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)


def _class_scores(y_true: np.ndarray, y_pred: np.ndarray, labels: list[int]) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, and their macro and weighted averages."""
    precision, recall, f1, support = _per_class(y_true, y_pred, labels)
    averaged = {}
    for average in ("macro", "weighted"):
        mean_precision, mean_recall, mean_f1, _ = _per_class(y_true, y_pred, labels, average)
        averaged[average] = {"precision": float(mean_precision), "recall": float(mean_recall), "f1": float(mean_f1)}
    return {"precision": precision, "recall": recall, "f1": f1, "support": support, **averaged}


def _single_label_scores(y_true: np.ndarray, y_prob: np.ndarray, top_k: int) -> dict[str, Any]:
    num_classes = y_prob.shape[1]
    labels = list(range(num_classes))
    y_pred = np.argmax(y_prob, axis=1)
    k = top_k if top_k < num_classes else None
    auc = None
    roc_auc = None
    if num_classes == 2:
        roc_auc = _auc(y_true, y_prob[:, 1])
        auc = np.array([roc_auc, roc_auc], dtype=np.float64)
    return {
        **_class_scores(y_true, y_pred, labels),
        "accuracy": float(np.mean(y_pred == y_true)) if len(y_true) else math.nan,
        "top_k": k,
        "top_k_accuracy": _top_k_accuracy(y_true, y_prob, k) if k else None,
        "auc": auc,
        "roc_auc": None if roc_auc is None or math.isnan(roc_auc) else roc_auc,
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels),
        "micro_f1": None,
        "subset_accuracy": None,
        "hamming_loss": None,
    }


def _multi_label_scores(y_true: np.ndarray, y_prob: np.ndarray, threshold: float) -> dict[str, Any]:
    labels = list(range(y_prob.shape[1]))
    y_pred = predict_labels(y_prob, True, threshold)
    auc = np.array([_auc(y_true[:, i], y_prob[:, i]) for i in labels], dtype=np.float64)
    defined = auc[~np.isnan(auc)]
    subset = float(np.mean(np.all(y_pred == y_true, axis=1))) if len(y_true) else math.nan
    return {
        **_class_scores(y_true, y_pred, labels),
        "accuracy": subset,
        "subset_accuracy": subset,
        "hamming_loss": float(np.mean(y_pred != y_true)) if y_true.size else math.nan,
        "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "auc": auc,
        "roc_auc": float(defined.mean()) if len(defined) else None,
        "confusion_matrix": label_confusion_matrix(y_true, y_pred),
        "top_k": None,
        "top_k_accuracy": None,
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
