"""Precise BatchNorm: moving statistics become the population's before each validation, frozen layers untouched."""

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.train.callbacks.precise_bn import PreciseBatchNorm, recompute_batchnorm_statistics


def _model():
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, name="dense")(inputs)
    outputs = keras.layers.BatchNormalization(momentum=0.99, name="bn")(hidden)
    return keras.Model(inputs, outputs)


def test_recomputed_statistics_are_the_average_of_the_batches():
    model = _model()
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 3)) * 3 + 5).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x)).batch(16)
    batches = recompute_batchnorm_statistics(model, data, [model.get_layer("bn")], images=64)
    hidden = model.get_layer("dense")(x).numpy().reshape(4, 16, 4)
    bn = model.get_layer("bn")
    assert batches == 4
    np.testing.assert_allclose(bn.moving_mean.numpy(), hidden.mean(axis=(0, 1)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance.numpy(), hidden.var(axis=1).mean(axis=0), rtol=1e-3, atol=1e-4)
    assert bn.momentum == 0.99


def test_the_callback_updates_trainable_batchnorm_before_validation_and_leaves_frozen_layers_alone():
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(1).normal(size=(32, 3)).astype("float32") + 4
    data = tf.data.Dataset.from_tensor_slices((x, np.zeros((32, 4), "float32"))).batch(8)
    callback = PreciseBatchNorm(data, images=32)
    model.fit(data, validation_data=data, epochs=2, callbacks=[callback], shuffle=False, verbose=0)
    assert callback.updates == 3  # two validations and the end of training
    model.get_layer("bn").trainable = False
    before = model.get_layer("bn").moving_mean.numpy().copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(data, validation_data=data, epochs=1, callbacks=[PreciseBatchNorm(data)], shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.get_layer("bn").moving_mean.numpy(), before)
