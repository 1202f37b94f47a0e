"""compute_metrics(): metrics checked against numbers worked out by hand on small fixed examples."""

import json
import math
import warnings

import numpy as np
import pytest

from keras_transfer.evaluation.metrics import compute_metrics

# --- binary: one sigmoid column --------------------------------------------------------------------
# y_true       0     0     1     1     1
# P(class 1)   0.1   0.7   0.75  0.3   0.9
# predicted    0     1     1     0     1      -> 3 of 5 right
BINARY_TRUE = [0, 0, 1, 1, 1]
BINARY_P1 = [0.1, 0.7, 0.75, 0.3, 0.9]


def test_binary_sigmoid_column_matches_hand_computed_metrics():
    ev = compute_metrics(BINARY_TRUE, np.array(BINARY_P1)[:, None], ["neg", "pos"])

    assert ev.y_prob.shape == (5, 2)  # the single column became [1 - p, p]
    np.testing.assert_allclose(ev.y_prob[:, 0], [0.9, 0.3, 0.25, 0.7, 0.1])
    assert ev.accuracy == pytest.approx(3 / 5)
    # class neg: predicted for samples 0, 3 (1 right); 2 true negatives found 1 -> P = R = 1/2
    # class pos: predicted for samples 1, 2, 4 (2 right); 3 true positives, 2 found -> P = R = 2/3
    np.testing.assert_allclose(ev.precision, [1 / 2, 2 / 3])
    np.testing.assert_allclose(ev.recall, [1 / 2, 2 / 3])
    np.testing.assert_allclose(ev.f1, [1 / 2, 2 / 3])
    np.testing.assert_array_equal(ev.support, [2, 3])
    np.testing.assert_array_equal(ev.confusion_matrix, [[1, 1], [1, 2]])
    assert ev.macro == pytest.approx({"precision": 7 / 12, "recall": 7 / 12, "f1": 7 / 12})
    assert ev.weighted == pytest.approx({"precision": 0.6, "recall": 0.6, "f1": 0.6})  # (2*1/2 + 3*2/3) / 5
    # AUC: positives {0.75, 0.3, 0.9} vs negatives {0.1, 0.7}: 5 of 6 pairs ordered right
    assert ev.roc_auc == pytest.approx(5 / 6)
    # p(true class) = 0.9, 0.3, 0.75, 0.3, 0.9
    expected_losses = [-math.log(p) for p in (0.9, 0.3, 0.75, 0.3, 0.9)]
    np.testing.assert_allclose(ev.losses, expected_losses)
    assert ev.log_loss == pytest.approx(0.5812697, abs=1e-6)
    # confidence 0.9 (x2, right) in bin (0.867, 0.933]; 0.7 (x2, wrong) in (0.667, 0.733]; 0.75 (right) in
    # (0.733, 0.8]: ECE = (2 * 0.1 + 2 * 0.7 + 1 * 0.25) / 5
    assert ev.ece == pytest.approx(0.37)
    assert ev.top_k is None and ev.top_k_accuracy is None  # top-5 of 2 classes is always 1
    assert ev.hamming_loss is None and ev.micro_f1 is None


def test_binary_flat_and_two_column_inputs_agree_with_the_column():
    one = compute_metrics(BINARY_TRUE, np.array(BINARY_P1)[:, None])
    flat = compute_metrics(BINARY_TRUE, BINARY_P1)
    two = compute_metrics(np.eye(2)[BINARY_TRUE], np.stack([1 - np.array(BINARY_P1), BINARY_P1], axis=1))
    for other in (flat, two):
        assert other.to_dict() == one.to_dict()
    assert one.class_names == ["0", "1"]


# --- multi-class, with a class that is never predicted ----------------------------------------------
MULTI_NAMES = ["cat", "dog", "bird"]
MULTI_TRUE = [0, 0, 1, 1, 2, 2]
MULTI_PROB = np.array([
    [0.70, 0.20, 0.10],  # cat  -> cat   right, conf 0.70
    [0.30, 0.62, 0.08],  # cat  -> dog   wrong, conf 0.62
    [0.15, 0.75, 0.10],  # dog  -> dog   right, conf 0.75
    [0.05, 0.85, 0.10],  # dog  -> dog   right, conf 0.85
    [0.50, 0.30, 0.20],  # bird -> cat   wrong, conf 0.50
    [0.20, 0.55, 0.25],  # bird -> dog   wrong, conf 0.55   (bird is never predicted)
])


def test_multiclass_matches_hand_computed_metrics_with_a_never_predicted_class():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UndefinedMetricWarning, no divide-by-zero RuntimeWarning
        ev = compute_metrics(MULTI_TRUE, MULTI_PROB, MULTI_NAMES, top_k=2)

    assert ev.accuracy == pytest.approx(3 / 6)
    # predicted cat: samples 0, 4 (1 right); predicted dog: 1, 2, 3, 5 (2 right); bird: never -> 0, not NaN
    np.testing.assert_allclose(ev.precision, [1 / 2, 2 / 4, 0.0])
    np.testing.assert_allclose(ev.recall, [1 / 2, 2 / 2, 0 / 2])
    np.testing.assert_allclose(ev.f1, [1 / 2, 2 / 3, 0.0])  # dog: 2 * 0.5 * 1 / 1.5
    np.testing.assert_array_equal(ev.support, [2, 2, 2])
    assert not np.isnan(ev.precision).any()
    np.testing.assert_array_equal(ev.confusion_matrix, [[1, 1, 0], [0, 2, 0], [1, 1, 0]])
    assert ev.macro == pytest.approx({"precision": 1 / 3, "recall": 1 / 2, "f1": 7 / 18})
    assert ev.weighted == pytest.approx(ev.macro)  # equal supports
    # top-2: only sample 4 (bird, top-2 = cat, dog) misses
    assert ev.top_k == 2 and ev.top_k_accuracy == pytest.approx(5 / 6)
    expected_losses = [-math.log(p) for p in (0.70, 0.30, 0.75, 0.85, 0.20, 0.25)]
    np.testing.assert_allclose(ev.losses, expected_losses)
    assert ev.log_loss == pytest.approx(np.mean(expected_losses))
    # each confidence falls in its own 1/15-wide bin: ECE = mean |right - confidence|
    assert ev.ece == pytest.approx((0.30 + 0.62 + 0.25 + 0.15 + 0.50 + 0.55) / 6)
    assert ev.roc_auc is None and ev.auc is None


def test_most_confused_pairs_are_ordered_and_counted():
    ev = compute_metrics(MULTI_TRUE, MULTI_PROB, MULTI_NAMES)
    assert ev.most_confused() == [
        {"true": "cat", "predicted": "dog", "count": 1, "fraction": 0.5},
        {"true": "bird", "predicted": "cat", "count": 1, "fraction": 0.5},
        {"true": "bird", "predicted": "dog", "count": 1, "fraction": 0.5},
    ]
    assert len(ev.most_confused(2)) == 2
    np.testing.assert_array_equal(ev.highest_loss(2), [4, 5])  # losses -log 0.2, -log 0.25


def test_to_dict_is_json_and_dataframe_and_repr_are_readable():
    ev = compute_metrics(MULTI_TRUE, MULTI_PROB, MULTI_NAMES, top_k=2)
    data = json.loads(json.dumps(ev.to_dict(include_predictions=True)))
    assert data["per_class"]["bird"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert data["per_class"]["dog"]["f1"] == pytest.approx(2 / 3)
    assert data["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 1, 0]]
    assert data["top_k_accuracy"] == pytest.approx(5 / 6) and data["hamming_loss"] is None
    assert data["calibration"]["accuracy"][0] is None  # empty bin: NaN -> null
    assert len(data["y_prob"]) == 6

    frame = ev.to_dataframe()
    assert list(frame.index) == MULTI_NAMES
    assert list(frame.columns) == ["precision", "recall", "f1", "support"]
    assert frame.loc["dog", "recall"] == 1.0

    text = repr(ev)
    assert text.startswith("Evaluation(6 samples, 3 classes)")
    assert "accuracy 0.5000" in text and "top_2_accuracy 0.8333" in text and "bird" in text


# --- multi-label ----------------------------------------------------------------------------------
LABELS = ["a", "b", "c", "d"]
ML_TRUE = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]])
ML_PROB = np.array([
    [0.90, 0.45, 0.70, 0.10],  # predicted a, c       exact
    [0.30, 0.85, 0.35, 0.25],  # predicted b          exact
    [0.65, 0.35, 0.10, 0.30],  # predicted a          misses b
    [0.25, 0.10, 0.75, 0.45],  # predicted c          misses d (d is never predicted)
])


def test_multilabel_matches_hand_computed_metrics():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = compute_metrics(ML_TRUE, ML_PROB, LABELS, multi_label=True)

    np.testing.assert_array_equal(ev.y_pred, [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    assert ev.subset_accuracy == pytest.approx(2 / 4) and ev.accuracy == ev.subset_accuracy
    assert ev.hamming_loss == pytest.approx(2 / 16)
    np.testing.assert_allclose(ev.precision, [1, 1, 1, 0])  # d never predicted -> 0
    np.testing.assert_allclose(ev.recall, [1, 1 / 2, 1, 0])
    np.testing.assert_allclose(ev.f1, [1, 2 / 3, 1, 0])
    np.testing.assert_array_equal(ev.support, [2, 2, 2, 1])
    # micro: TP 5, FP 0, FN 2 -> F1 = 10 / 12
    assert ev.micro_f1 == pytest.approx(10 / 12)
    assert ev.macro["f1"] == pytest.approx((1 + 2 / 3 + 1 + 0) / 4)
    # AUC of b: positives {0.85, 0.35} vs negatives {0.45, 0.10}: 3 of 4 pairs; a, c, d separate perfectly
    np.testing.assert_allclose(ev.auc, [1.0, 0.75, 1.0, 1.0])
    assert ev.roc_auc == pytest.approx(3.75 / 4)
    # per-sample loss: mean binary cross-entropy of the probability given to each true outcome
    expected_losses = [
        np.mean(-np.log([0.90, 0.55, 0.70, 0.90])),
        np.mean(-np.log([0.70, 0.85, 0.65, 0.75])),
        np.mean(-np.log([0.65, 0.35, 0.90, 0.70])),
        np.mean(-np.log([0.75, 0.90, 0.75, 0.45])),
    ]
    np.testing.assert_allclose(ev.losses, expected_losses)
    assert ev.log_loss == pytest.approx(np.mean(expected_losses))
    # calibration over all 16 probabilities (bin: probabilities -> outcomes):
    # [0.10 x3 -> 0,0,0] [0.25 x2 -> 0,0] [0.30 x2 -> 0,0] [0.35 x2 -> 1,0] [0.45 x2 -> 0,1]
    # [0.65 -> 1] [0.70 -> 1] [0.75 -> 1] [0.85 -> 1] [0.90 -> 1]
    weighted_gaps = 3 * 0.1 + 2 * 0.25 + 2 * 0.3 + 2 * 0.15 + 2 * 0.05 + 0.35 + 0.3 + 0.25 + 0.15 + 0.1
    assert ev.ece == pytest.approx(weighted_gaps / 16)
    # co-occurrence confusion: diagonal = true positives, no false positives anywhere
    np.testing.assert_array_equal(ev.confusion_matrix, np.diag([2, 1, 2, 0]))
    assert ev.most_confused() == []


def test_multilabel_false_positive_lands_off_the_diagonal():
    y_true = np.array([[1, 0], [1, 0], [0, 1]])
    y_prob = np.array([[0.9, 0.8], [0.9, 0.2], [0.1, 0.3]])  # sample 0: b predicted while only a is true
    ev = compute_metrics(y_true, y_prob, ["a", "b"], multi_label=True)
    np.testing.assert_array_equal(ev.confusion_matrix, [[2, 1], [0, 0]])
    assert ev.most_confused() == [{"true": "a", "predicted": "b", "count": 1, "fraction": 0.5}]
    np.testing.assert_allclose(ev.precision, [1.0, 0.0])  # b: 1 prediction, wrong
    np.testing.assert_allclose(ev.recall, [1.0, 0.0])


def test_multilabel_auc_is_undefined_for_a_label_with_one_outcome():
    y_true = np.array([[1, 0], [0, 0], [1, 0]])  # label b is never true
    y_prob = np.array([[0.8, 0.1], [0.3, 0.2], [0.6, 0.7]])
    ev = compute_metrics(y_true, y_prob, ["a", "b"], multi_label=True)
    assert ev.auc[0] == 1.0 and math.isnan(ev.auc[1])
    assert ev.roc_auc == 1.0  # the mean of the defined AUCs
    assert ev.to_dict()["per_class"]["b"]["auc"] is None
    assert ev.precision[1] == 0.0 and ev.support[1] == 0


# --- input checks --------------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="probabilities"):
        compute_metrics([0, 1], [[2.0, -1.0], [0.1, 0.9]])  # logits
    with pytest.raises(ValueError, match="Labels must be in 0..2"):
        compute_metrics([0, 3], [[0.2, 0.3, 0.5]] * 2)
    with pytest.raises(ValueError, match="2 class names for 3 model outputs"):
        compute_metrics([0, 1], [[0.2, 0.3, 0.5]] * 2, ["a", "b"])
    with pytest.raises(ValueError, match="2 labels for 3 predictions"):
        compute_metrics([0, 1], [0.2, 0.3, 0.9])
    with pytest.raises(ValueError, match="No samples"):
        compute_metrics([], np.zeros((0, 3)))
    with pytest.raises(ValueError, match="only 0 and 1"):
        compute_metrics([[2, 0]], [[0.2, 0.3]], multi_label=True)


def test_single_label_rows_not_summing_to_one_are_normalised_with_a_warning():
    with pytest.warns(UserWarning, match="do not sum to 1"):
        ev = compute_metrics([0, 1], [[0.8, 0.4], [0.2, 0.6]])
    np.testing.assert_allclose(ev.y_prob, [[2 / 3, 1 / 3], [0.25, 0.75]])
