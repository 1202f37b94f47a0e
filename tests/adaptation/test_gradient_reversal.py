"""GradientReversal: identity forward, minus lambda times the gradient backward (checked by finite differences)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.adaptation.gradient_reversal import GradientReversal, reversal_schedule

COEFFICIENTS = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)


def scalar_function(x):
    """A smooth, non-linear function of x: sum(c * tanh(x) + x^2 / 2)."""
    return np.sum(COEFFICIENTS * np.tanh(x) + x ** 2 / 2)


def finite_difference(x, step=1e-3):
    gradient = np.zeros_like(x, np.float64)
    for index in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += step
        down[index] -= step
        gradient[index] = (scalar_function(up) - scalar_function(down)) / (2 * step)
    return gradient


def test_forward_is_identity_and_gradient_is_minus_weight_times_the_finite_difference():
    x = np.array([[0.2, -0.4, 1.1], [-1.3, 0.7, 0.05]], np.float32)
    for weight in (1.0, 0.3, 0.0):
        layer = GradientReversal(weight)
        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            through = layer(variable)
            value = tf.reduce_sum(COEFFICIENTS * tf.tanh(through) + through ** 2 / 2)
        np.testing.assert_array_equal(through.numpy(), x)
        np.testing.assert_allclose(value.numpy(), scalar_function(x), rtol=1e-5)
        np.testing.assert_allclose(tape.gradient(value, variable).numpy(), -weight * finite_difference(x),
                                   atol=2e-3)


def test_the_weight_is_a_variable_set_without_rebuilding_and_the_layer_round_trips(tmp_path):
    layer = GradientReversal(0.5, name="reverse")
    layer.set_weight(2.0)
    variable = tf.Variable(np.ones((1, 2), np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(variable))
    np.testing.assert_allclose(tape.gradient(total, variable).numpy(), [[-2.0, -2.0]])
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(GradientReversal(0.5)(inputs)))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.layers[1], GradientReversal) and loaded.layers[1].get_config()["weight"] == 0.5
    np.testing.assert_allclose(loaded.predict(np.ones((1, 2)), verbose=0), model.predict(np.ones((1, 2)), verbose=0))
    with pytest.raises(ValueError, match="must be >= 0"):
        GradientReversal(-1.0)


def test_the_warm_up_rises_from_zero_to_the_maximum():
    values = [reversal_schedule(p) for p in np.linspace(0, 1, 11)]
    assert values[0] == 0.0 and values[-1] == pytest.approx(1.0, abs=1e-4)
    assert all(b > a for a, b in zip(values, values[1:]))
    assert reversal_schedule(0.5, gamma=10, max_weight=0.1) == pytest.approx(0.1 * (2 / (1 + np.exp(-5)) - 1))
    assert reversal_schedule(2.0) == reversal_schedule(1.0)  # progress is clipped to [0, 1]
