"""evaluate() end to end: models and data kinds, against compute_metrics on the same probabilities."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.evaluation.evaluate import evaluate
from keras_transfer.evaluation.metrics import compute_metrics

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


def test_evaluate_with_source_data_adds_the_domain_section_to_the_evaluation_and_report(shapes_arrays, tmp_path):
    from keras_transfer.evaluation.report import write_report
    from keras_transfer.models.classifier import build_model
    from keras_transfer.testing.tiny import tiny_backbone

    x, y, _ = shapes_arrays
    model = build_model(tiny_backbone(32), 3, weights=None, image_size=32, hidden_units=8)
    target = (255 - x[30:90], y[30:90])
    plain = evaluate(model, target)
    shifted = evaluate(model, target, source_data=x[:60])
    from_dataset = evaluate(model, tf.data.Dataset.from_tensor_slices(target).batch(16), source_data=x[:60])
    assert plain.domain is None and shifted.accuracy == plain.accuracy
    assert shifted.domain["target_accuracy"] == plain.accuracy
    assert set(shifted.a_distances()) == {"pooled backbone features", "bottleneck"}
    assert all(0 <= value <= 2 for value in shifted.a_distances().values())
    assert from_dataset.a_distances() == pytest.approx(shifted.a_distances())  # the same images, batched
    assert shifted.to_dict()["domain"]["a_distance"] == shifted.a_distances() and "A-distance" in repr(shifted)
    page = write_report(tmp_path / "shift.html", evaluation=shifted).read_text(encoding="utf-8")
    assert 'id="domain"' in page and "a-distance-table" in page and "domain-embedding-plot" in page
    assert 'id="domain"' not in write_report(tmp_path / "plain.html", evaluation=plain).read_text(encoding="utf-8")
    with pytest.raises(TypeError, match="needs a Keras classifier built by keras_transfer"):
        evaluate(SimpleNamespace(model=lambda images: images, class_names=["a", "b", "c"]), target,
                 source_data=x[:60])
