"""Metrics checked against numbers worked out by hand on small fixed examples, then `evaluate()` end to end."""

import json
import math
import warnings
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.evaluation.evaluate import (
    calibration_bins,
    compute_metrics,
    evaluate,
    expected_calibration_error,
    imbalance_warnings,
    transfer_warnings,
)

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


# --- calibration bins ----------------------------------------------------------------------------


def test_calibration_bins_are_closed_on_the_right_and_cover_zero_and_one():
    y_prob = np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75], [0.6, 0.4]])
    bins = calibration_bins(np.array([0, 1, 1, 1]), y_prob, multi_label=False, bins=4)
    # confidences 1.0 (right), 0.5 (argmax 0, wrong), 0.75 (right), 0.6 (wrong)
    np.testing.assert_array_equal(bins["count"], [0, 1, 2, 1])  # 0.5 in (0.25, 0.5]; 0.6, 0.75 in (0.5, 0.75]
    np.testing.assert_allclose(bins["accuracy"][1:], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(bins["confidence"][1:], [0.5, 0.675, 1.0])
    assert math.isnan(bins["accuracy"][0])
    assert expected_calibration_error(bins) == pytest.approx((0.5 + 2 * 0.175 + 0.0) / 4)


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


# --- evaluate(): models and data kinds ------------------------------------------------------------


def _identity_model(units: int, activation: str) -> keras.Model:
    """Probabilities = activation(mean pixel of each channel), so tests know them exactly."""
    inputs = keras.Input((2, 2, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(units, activation=activation)
    outputs = dense(pooled)
    model = keras.Model(inputs, outputs)
    dense.set_weights([np.eye(3, units, dtype="float32"), np.zeros(units, dtype="float32")])
    return model


def _images(logits: np.ndarray) -> np.ndarray:
    return np.broadcast_to(logits[:, None, None, :], (len(logits), 2, 2, 3)).astype("float32").copy()


LOGITS = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.5], [1.0, 0.5, 0.0], [0.0, 0.0, 3.0], [0.2, 0.1, 0.0]])
LOGIT_LABELS = np.array([0, 1, 2, 2, 1])


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_evaluate_arrays_with_int_string_and_one_hot_labels_give_the_same_scores():
    model = _identity_model(3, "softmax")
    x = _images(LOGITS)
    names = ["cat", "dog", "bird"]
    expected = compute_metrics(LOGIT_LABELS, _softmax(LOGITS), names)

    by_index = evaluate(model, (x, LOGIT_LABELS), class_names=names)
    by_name = evaluate(model, (x, np.array(names)[LOGIT_LABELS]), class_names=names)
    by_one_hot = evaluate(SimpleNamespace(model=model, class_names=names), (x, np.eye(3)[LOGIT_LABELS]))
    for ev in (by_index, by_name, by_one_hot):
        assert ev.class_names == names and not ev.multi_label
        np.testing.assert_allclose(ev.y_prob, expected.y_prob, atol=1e-6)
        assert ev.accuracy == expected.accuracy == pytest.approx(3 / 5)
        assert ev.log_loss == pytest.approx(expected.log_loss, abs=1e-6)


def test_evaluate_keeps_the_highest_loss_images():
    model = _identity_model(3, "softmax")
    x = _images(LOGITS)
    ev = evaluate(model, (x, LOGIT_LABELS), keep_hardest=2)
    order = np.argsort(-ev.losses)
    np.testing.assert_array_equal(ev.hardest_indices, order[:2])
    np.testing.assert_array_equal(ev.hardest_images, x[order[:2]])
    assert evaluate(model, (x, LOGIT_LABELS), keep_hardest=0).hardest_images is None


def test_evaluate_dataset_matches_arrays_even_when_it_reshuffles():
    model = _identity_model(3, "softmax")
    x = _images(LOGITS)
    arrays = evaluate(model, (x, LOGIT_LABELS), keep_hardest=3)
    ordered = tf.data.Dataset.from_tensor_slices((x, LOGIT_LABELS)).batch(2)
    from_dataset = evaluate(model, ordered, keep_hardest=3)
    np.testing.assert_array_equal(from_dataset.y_true, arrays.y_true)
    np.testing.assert_allclose(from_dataset.y_prob, arrays.y_prob, atol=1e-6)
    np.testing.assert_allclose(from_dataset.losses, arrays.losses, atol=1e-5)
    np.testing.assert_array_equal(from_dataset.confusion_matrix, arrays.confusion_matrix)
    assert from_dataset.accuracy == arrays.accuracy == pytest.approx(3 / 5)
    np.testing.assert_array_equal(from_dataset.hardest_indices, arrays.hardest_indices)
    np.testing.assert_array_equal(from_dataset.hardest_images, arrays.hardest_images)

    shuffled = tf.data.Dataset.from_tensor_slices((x, LOGIT_LABELS)).shuffle(5, seed=1).batch(2)
    assert evaluate(model, shuffled).accuracy == pytest.approx(arrays.accuracy)


def test_evaluate_dataset_with_string_labels_uses_the_class_names():
    model = _identity_model(3, "softmax")
    names = ["cat", "dog", "bird"]
    dataset = tf.data.Dataset.from_tensor_slices((_images(LOGITS), np.array(names)[LOGIT_LABELS])).batch(3)
    ev = evaluate(SimpleNamespace(model=model, class_names=names), dataset)
    assert ev.accuracy == pytest.approx(3 / 5)
    np.testing.assert_array_equal(ev.y_true, LOGIT_LABELS)
    assert len(ev.hardest_indices) == 5


def test_evaluate_binary_sigmoid_model_gives_two_columns():
    model = _identity_model(1, "sigmoid")  # P(class 1) = sigmoid(mean of the red channel)
    logits = np.array([[-2.0, 0, 0], [1.0, 0, 0], [0.5, 0, 0], [-0.5, 0, 0]])
    labels = np.array([0, 1, 0, 1])
    ev = evaluate(model, (_images(logits), labels), class_names=["no", "yes"])
    p1 = 1 / (1 + np.exp(-logits[:, 0]))
    np.testing.assert_allclose(ev.y_prob, np.stack([1 - p1, p1], axis=1), atol=1e-6)
    assert not ev.multi_label and ev.accuracy == pytest.approx(2 / 4)
    assert ev.roc_auc == pytest.approx(3 / 4)  # positives {0.73, 0.38} vs negatives {0.12, 0.62}


def test_evaluate_infers_multi_label_from_a_sigmoid_model():
    model = _identity_model(3, "sigmoid")
    logits = np.array([[2.0, -2.0, 2.0], [-2.0, 2.0, -2.0], [2.0, -2.0, -2.0]])
    labels = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]])  # the last row has a single label, like single-label data
    ev = evaluate(model, (_images(logits), labels))
    assert ev.multi_label and ev.subset_accuracy == 1.0 and ev.hamming_loss == 0.0
    with pytest.warns(UserWarning, match="Pass multi_label=True"):
        forced = evaluate(model, (_images(logits), np.array([0, 1, 0])), multi_label=False)
    assert forced.multi_label is False and forced.accuracy == 1.0
    with pytest.raises(ValueError, match="need multi_label=True"):
        evaluate(model, (_images(logits), labels), multi_label=False)


def test_evaluate_rejects_unknown_inputs():
    model = _identity_model(3, "softmax")
    with pytest.raises(TypeError, match="keras.Model or a result"):
        evaluate(object(), (_images(LOGITS), LOGIT_LABELS))
    with pytest.raises(TypeError, match=r"\(x, y\) arrays or a tf.data.Dataset"):
        evaluate(model, _images(LOGITS))
    with pytest.raises(ValueError, match="not among the class names"):
        labels = np.array(["cat", "dog", "emu", "cat", "dog"])
        evaluate(model, (_images(LOGITS), labels), class_names=["cat", "dog", "x"])


# --- transfer and imbalance warnings ----------------------------------------------------------------


def test_transfer_warnings_flag_negative_transfer_against_each_baseline():
    found = transfer_warnings(0.70, {"linear_probe": {"accuracy": 0.75}, "scratch": 0.72, "fine_tuned": 0.70}, [])
    assert len(found) == 2
    assert found[0].startswith("Negative transfer") and "linear_probe" in found[0] and "0.7500" in found[0]
    assert "head-only weights" in found[0]
    assert "scratch" in found[1] and "random weights" in found[1]


def test_transfer_warnings_are_empty_when_fine_tuning_helps():
    assert transfer_warnings(0.90, {"linear_probe": 0.85, "scratch": {"accuracy": 0.5}},
                             [("head", 0.85), ("top_blocks", 0.88), ("all", 0.90)]) == []
    assert transfer_warnings(None, {"linear_probe": 0.85}, [("head", None), ("all", 0.8)]) == []
    assert transfer_warnings(0.84, {"linear_probe": 0.85}, tolerance=0.02) == []


def test_transfer_warnings_flag_an_unfrozen_stage_worse_than_the_head_only_stage():
    found = transfer_warnings(0.86, {}, [("head", 0.86), ("top_blocks", 0.88), ("all", 0.80)])
    expected = (
        "Stage 'all' (backbone unfrozen) reached accuracy 0.8000, worse than the head-only stage 'head' (0.8600): "
        "unfreezing hurt. Lower its learning rate or unfreeze fewer blocks; the head-only weights are the better ones."
    )
    assert found == [expected]


def test_transfer_warnings_for_a_lower_is_better_metric():
    found = transfer_warnings(0.50, {"linear_probe": {"val_loss": 0.40}}, [("head", 0.45), ("all", 0.50)],
                              metric="val_loss", higher_is_better=False)
    assert len(found) == 2 and "worse than the linear_probe" in found[0] and "Stage 'all'" in found[1]


def test_imbalance_warning_above_a_ratio_of_three():
    assert imbalance_warnings({"a": 30, "b": 10}) == []  # exactly 3x
    (message,) = imbalance_warnings({"a": 31, "b": 10, "c": 20}, split="validation")
    assert "validation" in message and "'a' has 31" in message and "'b' only 10" in message and "3.1×" in message
    assert "no samples" in imbalance_warnings({"a": 5, "b": 0})[0]
    assert imbalance_warnings({"a": 5}) == [] and imbalance_warnings(None) == []
