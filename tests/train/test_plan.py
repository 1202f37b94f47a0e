"""run_plan: one model.fit runs the plan, and Keras has nothing to warn about."""

import warnings

import numpy as np
import tensorflow as tf

from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train import Stage, run_plan


def test_a_plan_on_tf_data_trains_without_keras_warning_about_shuffle():
    model = build_model(tiny_backbone(16), 3, weights="given", image_size=16)
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 16, 16, 3)).astype("float32")
    labels = tf.one_hot(np.arange(16) % 3, 3)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(16, seed=0).batch(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        staged = run_plan(model, [Stage("head", 1, 1e-3, 0), Stage("all", 1, 1e-4, "all")], None, data, data,
                          verbose=0)
    assert [record["name"] for record in staged.stage_history] == ["head", "all"]
    assert not [str(w.message) for w in caught if "shuffle" in str(w.message)]
