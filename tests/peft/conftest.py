"""Helpers for the PEFT tests: a tiny pretrained-like classifier and a few batches."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone


@pytest.fixture
def tiny_classifier():
    """`make()` → a compiled 3-class classifier on the tiny backbone (BatchNorm frozen, as a pretrained one)."""

    def make(seed: int = 0):
        model = build_model(tiny_backbone(32, seed=seed), 3, weights="given", image_size=32)
        model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    return make


@pytest.fixture(scope="module")
def batches():
    """24 images (32 px, 3 classes) in batches of 8, and the images alone."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (24, 32, 32, 3)).astype("float32")
    labels = np.eye(3, dtype="float32")[np.arange(24) % 3]
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(8), images


@pytest.fixture
def moved():
    """`moved(model, run)` → runs `run()` and returns the paths of the model's weights whose values changed.

    Every weight counts (BatchNorm statistics included); a weight created during `run` counts as changed.
    """

    def snapshot(model) -> dict:
        return {variable.path: np.array(variable.numpy()) for variable in model.weights}

    def run_and_compare(model, run) -> set:
        before = snapshot(model)
        run()
        after = snapshot(model)
        return {path for path, value in after.items() if path not in before or not np.array_equal(before[path], value)}

    return run_and_compare
