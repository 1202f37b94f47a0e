"""The one rule for a metric's direction: ask the metric, then read the name."""

import keras
import pytest

from keras_transfer.metric_direction import higher_is_better, is_improvement


@pytest.mark.parametrize("name, expected", [
    ("val_loss", False), ("loss", False), ("val_accuracy", True), ("top5_accuracy", True), ("val_auc", True),
    ("val_f1", True), ("f1_macro", True), ("ece", False), ("val_mean_absolute_error", False), ("mse", False),
    ("precision", True), ("hamming_loss", False), ("val_recall", True),
])
def test_names_decide_when_no_metric_answers(name, expected):
    assert higher_is_better(name) is expected


def test_a_keras_metric_answers_for_itself_before_its_name():
    odd = keras.metrics.CategoricalAccuracy(name="weird_loss")  # a score despite its name
    assert higher_is_better("val_weird_loss", [odd]) is True
    assert higher_is_better("val_weird_loss") is False


def test_improvement_follows_the_direction_and_nan_never_improves():
    assert is_improvement(0.4, 0.5, "val_loss") and not is_improvement(0.4, 0.5, "val_accuracy")
    assert is_improvement(0.6, 0.5, "val_f1") and is_improvement(0.1, None, "val_f1")
    assert not is_improvement(float("nan"), 0.5, "val_loss") and not is_improvement(None, 0.5, "val_loss")
    assert not is_improvement(0.52, 0.5, "val_accuracy", min_delta=0.05)
