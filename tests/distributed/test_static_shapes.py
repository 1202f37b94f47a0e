"""TPU-ready runs: under a strategy, XLA-compiled steps (jit_compile=True) need one static batch shape."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer import build_and_fit
from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import from_arrays
from keras_transfer.distributed.static_shapes import resolve_drop_remainder
from keras_transfer.testing.synthetic import make_shapes_arrays
from keras_transfer.testing.tiny import tiny_backbone


def test_drop_remainder_gives_every_training_batch_one_static_shape():
    spec = from_arrays(np.zeros((21, 8, 8, 3), np.uint8), np.arange(21) % 3)
    static = make_dataset(spec, (8, 8), 8, training=True, drop_remainder=True)
    assert static.element_spec[0].shape.as_list() == [8, 8, 8, 3]
    assert sum(1 for _ in static) == 2
    assert make_dataset(spec, (8, 8), 8, training=True).element_spec[0].shape[0] is None
    assert resolve_drop_remainder("auto", None, jit_compile=True)
    assert not resolve_drop_remainder("auto", None, jit_compile="auto")
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        resolve_drop_remainder("yes", None, jit_compile=False)


def test_the_plan_runs_under_tpu_like_constraints_xla_steps_static_batch_bfloat16():
    x, y, _ = make_shapes_arrays(3, 20, 32)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    stages = [{"name": "head", "epochs": 1, "learning_rate": 1e-2},
              {"name": "all", "epochs": 1, "learning_rate": 1e-3, "train_blocks": "all", "patience": None}]
    result = build_and_fit((x, y), backbone=tiny_backbone(32, (4, 8)), weights="given", image_size=32,
                           stages=stages, batch_size=8, strategy=strategy, jit_compile=True, steps_per_execution=2,
                           mixed_precision="mixed_bfloat16", augmentation=None, verbose=0)
    assert result.config["drop_remainder"] is True and result.config["mixed_precision"] == "mixed_bfloat16"
    assert [(h["name"], h["epochs_run"]) for h in result.history] == [("head", 1), ("all", 1)]
    assert result.history[0]["cached_features"], "the feature cache runs under the strategy too"
    assert np.isfinite(result.metrics["loss"])
