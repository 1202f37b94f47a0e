"""Stage optimizers: layer-wise learning rates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.models.backbones import Block
from keras_transfer.train.optimizers import LayerwiseAdamW, layerwise_lr_multipliers, make_optimizer
from keras_transfer.train.stages import Stage


def test_layerwise_adamw_scales_each_variables_step():
    a = keras.Variable(np.zeros(3, "float32"), name="a")
    b = keras.Variable(np.zeros(3, "float32"), name="b")
    optimizer = LayerwiseAdamW(lr_multipliers={b.path: 0.5}, learning_rate=0.1, weight_decay=0.0)
    gradient = tf.constant([1.0, -1.0, 2.0])
    optimizer.apply([gradient, gradient], [a, b])
    np.testing.assert_allclose(b.numpy(), 0.5 * a.numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.abs(a.numpy()), 0.1, rtol=1e-4)


def test_layerwise_lr_multipliers_decay_per_block_below_the_top_one():
    layers = [keras.layers.Dense(2, name=f"dense_{index}") for index in range(3)]
    for layer in layers:
        layer.build((None, 2))
    blocks = [Block(layer.name, (layer,)) for layer in layers]
    factors = layerwise_lr_multipliers(blocks, 0.5)
    assert [factors[layer.kernel.path] for layer in layers] == [0.25, 0.5, 1.0]
    assert factors[layers[0].bias.path] == 0.25
    assert layerwise_lr_multipliers(blocks, None) == {}


def test_constant_and_plateau_stages_get_a_constant_rate_and_the_stage_weight_decay():
    for schedule in ("constant", "plateau"):
        optimizer = make_optimizer(Stage("a", 3, 2e-4, schedule=schedule, weight_decay=0.05), steps_per_epoch=10)
        assert isinstance(optimizer, LayerwiseAdamW)
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        assert optimizer.weight_decay == pytest.approx(0.05)
