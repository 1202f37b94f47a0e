"""`distill()`: label weight 1 is training on labels, unlabeled images join, a hurting teacher keeps the
labels-only student, the run reruns from its config, bad data is refused."""

import keras
import numpy as np
import pytest

import keras_transfer
from keras_transfer import build_and_fit_from_config, distill
from keras_transfer.testing.tiny import tiny_backbone

STUDENT = dict(image_size=32, verbose=0, seed=0, epochs=1)


def test_student_loss_weight_one_equals_training_on_labels_alone(tiny_teacher, shapes_small):
    x, y, _ = shapes_small
    distilled = distill(tiny_teacher, (x, y), student=tiny_backbone(32, (4, 8), seed=1), student_loss_weight=1.0,
                        compare=False, **STUDENT)
    models = distilled.method_record["models"]
    # The labels-only student is the run's fine_tune baseline: the same seed, data and initial weights.
    assert models["labels_only"] is not models["distilled"] and distilled.config["method"] == "distill"
    for ours, theirs in zip(models["distilled"].get_weights(), models["labels_only"].get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=0)
    assert distilled.baselines["fine_tuned"] == distilled.baselines["fine_tune"]
    assert distilled.kept == "fine_tuned"  # a tie keeps the run's own model


def permuted(teacher_model):
    """The teacher with its classes rolled by one: confidently wrong soft targets."""
    last = teacher_model.layers[-1]
    kernel, bias = last.get_weights()
    wrong = keras.layers.Dense(3, activation="softmax", name="predictions_permuted")
    outputs = wrong(last.input)
    wrong.set_weights([np.roll(kernel, 1, axis=1), np.roll(bias, 1)])
    return keras.Model(teacher_model.inputs, outputs)


def test_a_teacher_that_hurts_keeps_the_labels_only_student_and_the_run_reruns_from_its_config(
        tiny_teacher, shapes_small, tmp_path):
    x, y, _ = shapes_small
    teacher = permuted(tiny_teacher.model)
    # Head stages on cached features from a random head: what the student learns is the (wrong) teacher's.
    options = dict(student=tiny_backbone(32, seed=1), weights="given", student_loss_weight=0.0, head_init=None,
                   stages=[{"name": "head", "train_blocks": 0, "epochs": 5, "learning_rate": 0.03}],
                   unlabeled_data=x[:12], image_size=32, verbose=0, seed=0)
    result = distill(teacher, (x, y), **options)
    record = result.method_record
    assert result.kept == "fine_tune", result.baselines
    assert any("Distilling hurt" in warning and "labels-only student is kept" in warning
               for warning in result.warnings)
    assert record["unlabeled_images"] == 12 and record["temperature"] == 4.0
    assert record["student_loss_weight"] == 0.0 and record["teacher_logits"] == "pre-softmax"
    assert record["models"]["labels_only"] is result.model
    assert set(record["comparison"]["ratios"]) == {"latency_batch_1", "latency_batch_32", "parameters",
                                                   "tflite_bytes", "tflite_latency_batch_1",
                                                   "tflite_latency_batch_32"}
    assert all(value > 0 for value in record["comparison"]["ratios"].values())
    assert record["comparison"]["student"]["kept"] == "labels only"
    page = result.report(tmp_path / "report.html").read_text()
    assert 'id="distillation-table"' in page and "Student kept: labels only" in page
    assert result.config["teacher"] == "<Teacher>" and result.config["unlabeled_data"] == "<ndarray>"
    with pytest.raises(ValueError, match="The config's teacher was <Teacher>, which cannot be reloaded: pass teacher="):
        build_and_fit_from_config(result.config, data=(x, y), backbone=tiny_backbone(32, seed=1),
                                  unlabeled_data=x[:12])
    again = build_and_fit_from_config(result.config, data=(x, y), backbone=tiny_backbone(32, seed=1),
                                      teacher=teacher, unlabeled_data=x[:12])
    assert again.method_record["name"] == "distill" and again.kept == "fine_tune"
    assert again.baselines == result.baselines


def test_bad_teachers_and_data_are_refused_before_training(tiny_teacher, shapes_small):
    x, y, _ = shapes_small
    with pytest.raises(ValueError, match="needs a single-label task with 3 or more classes"):
        distill(tiny_teacher, (x[y < 2], y[y < 2]), student=tiny_backbone(32), compare=False, **STUDENT)
    with pytest.raises(ValueError, match=r"The teacher's classes \['0', '1', '2'\] are not the data's"):
        distill(tiny_teacher, (x, y), student=tiny_backbone(32), class_names=["2", "1", "0"], compare=False,
                **STUDENT)
    with pytest.raises(ValueError, match="student_loss_weight is the weight of the label loss"):
        distill(tiny_teacher, (x, y), student_loss_weight=2.0)
    with pytest.raises(TypeError, match="distill sets method= itself"):
        distill(tiny_teacher, (x, y), method="fine_tune")
    assert keras_transfer.load_teacher(tiny_teacher).num_classes == 3
