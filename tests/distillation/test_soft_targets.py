"""The distillation objective on fixed logits, against numpy and Keras' own `LogitsDistillation`."""

import keras
import numpy as np
import pytest

from keras_transfer.distillation.soft_targets import (
    DistillationObjective,
    OnLabels,
    logits_from_probabilities,
    pack_targets,
    soft_target_loss,
)

TEACHER = np.array([[2.0, 0.5, -1.0], [0.1, 3.0, 0.2], [-2.0, 0.0, 4.0], [1.0, 1.0, 1.0]], "float32")
STUDENT = np.array([[1.0, 1.5, -0.5], [0.0, 0.3, 2.0], [0.5, -1.0, 1.0], [3.0, -2.0, 0.0]], "float32")
LABELS = np.eye(3, dtype="float32")[[0, 1, 2, 0]]


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def numpy_soft_loss(teacher, student, temperature):
    p, q = softmax(teacher / temperature), softmax(student / temperature)
    return temperature ** 2 * np.sum(p * np.log(p / q), axis=-1)


def test_temperature_scaling_matches_numpy_and_keras_logits_distillation():
    for temperature in (1.0, 2.0, 4.0, 10.0):
        ours = np.asarray(soft_target_loss(TEACHER, STUDENT, temperature))
        # float64 reference; float32 cancellation in KL grows with the T**2 factor, hence 1e-4.
        reference = numpy_soft_loss(TEACHER.astype("float64"), STUDENT.astype("float64"), temperature)
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6)
        # With a KLDivergence instance (the string default resolves to a function: see soft_targets.py).
        keras_term = keras.distillation.LogitsDistillation(
            temperature=temperature, loss=keras.losses.KLDivergence()).compute_loss(TEACHER, STUDENT)
        np.testing.assert_allclose(ours.mean(), float(keras_term), rtol=1e-6)
        assert float(np.asarray(soft_target_loss(TEACHER, TEACHER, temperature)).max()) < 1e-6


def test_log_probabilities_give_the_same_soft_targets_as_logits():
    log_probabilities = np.asarray(logits_from_probabilities(softmax(TEACHER)))
    for temperature in (1.0, 3.0, 7.0):
        np.testing.assert_allclose(softmax(log_probabilities / temperature), softmax(TEACHER / temperature),
                                   atol=1e-6)
    np.testing.assert_allclose(np.asarray(soft_target_loss(log_probabilities, STUDENT, 3.0)),
                               numpy_soft_loss(TEACHER, STUDENT, 3.0), rtol=1e-5, atol=1e-6)


def objective(weight, class_weight=None):
    return DistillationObjective(keras.losses.CategoricalCrossentropy(label_smoothing=0.1), 3, temperature=2.0,
                                 student_loss_weight=weight, class_weight=class_weight)


def test_the_objective_weighs_labels_and_soft_targets_and_masks_unlabeled_rows():
    probabilities = softmax(STUDENT)
    label_loss = keras.losses.CategoricalCrossentropy(label_smoothing=0.1, reduction=None)(LABELS, probabilities)
    soft = numpy_soft_loss(TEACHER, STUDENT, 2.0)
    labelled = np.array([1, 1, 1, 0], "float32")
    packed = pack_targets(LABELS * labelled[:, None], TEACHER, labelled)
    per_example = np.asarray(objective(0.3).call(packed, probabilities))
    expected = np.where(labelled > 0, 0.3 * np.asarray(label_loss) + 0.7 * soft, soft)
    np.testing.assert_allclose(per_example, expected, rtol=1e-5, atol=1e-6)
    # Weight 1 on labelled rows is exactly the label loss; validation batches (labels only) get the label loss.
    all_labelled = pack_targets(LABELS, TEACHER, np.ones(4))
    assert np.array_equal(np.asarray(objective(1.0)(all_labelled, probabilities)),
                          np.asarray(keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(LABELS, probabilities)))
    np.testing.assert_allclose(float(objective(0.3)(LABELS, probabilities)), float(np.mean(label_loss)), rtol=1e-6)
    weighted = np.asarray(objective(1.0, class_weight=[2.0, 1.0, 0.5]).call(all_labelled, probabilities))
    np.testing.assert_allclose(weighted, np.asarray(label_loss) * [2.0, 1.0, 0.5, 2.0], rtol=1e-6)
    again = DistillationObjective.from_config(objective(0.3).get_config())
    np.testing.assert_allclose(np.asarray(again.call(packed, probabilities)), per_example, rtol=1e-6)


def test_metrics_read_the_labels_of_labelled_rows_only():
    metric = OnLabels(keras.metrics.CategoricalAccuracy(name="accuracy"), 3)
    assert metric.name == "accuracy"
    probabilities = softmax(STUDENT)  # argmax: 1, 2, 2, 0 against labels 0, 1, 2, 0
    metric.update_state(pack_targets(LABELS, TEACHER, np.array([1, 1, 1, 0])), probabilities)
    assert float(metric.result()) == pytest.approx(1 / 3)
    metric.reset_state()
    metric.update_state(LABELS, probabilities)
    assert float(metric.result()) == pytest.approx(2 / 4)


def test_bad_settings_say_what_is_allowed():
    for settings, match in [(dict(temperature=0.0), "temperature must be a number > 0"),
                            (dict(temperature="4"), "temperature must be a number > 0"),
                            (dict(student_loss_weight=1.5), "the weight of the label loss, between 0 and 1"),
                            (dict(student_loss_weight=-0.1), "between 0 and 1")]:
        with pytest.raises(ValueError, match=match):
            DistillationObjective(keras.losses.CategoricalCrossentropy(), 3, **settings)
