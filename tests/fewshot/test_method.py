"""The `prototypes` method: label decoding, and the linear probe scored beside it on validation data."""

import numpy as np

import keras_transfer
from keras_transfer.fewshot.method import class_indices
from keras_transfer.testing.tiny import tiny_backbone


def test_class_indices_read_one_hot_and_binary_labels():
    np.testing.assert_array_equal(class_indices(np.array([[0, 1, 0], [1, 0, 0]])), [1, 0])
    np.testing.assert_array_equal(class_indices(np.array([[0.9], [0.1]])), [1, 0])


def test_with_validation_data_the_linear_probe_is_scored_beside_it(shapes_small):
    x, y, names = shapes_small
    support = np.concatenate([np.flatnonzero(y == name)[:2] for name in names])
    held = np.setdiff1d(np.arange(len(y)), support)
    result = keras_transfer.few_shot((x[support], y[support]), backbone=tiny_backbone(32), weights="given",
                                     image_size=32, validation_data=(x[held], y[held]), verbose=0)
    assert set(result.baselines) == {"fine_tuned", "linear_probe"}
    assert result.kept in ("fine_tuned", "linear_probe") and 0.0 <= result.metrics["accuracy"] <= 1.0
    assert result.config["baselines"] == ["linear_probe"]
