"""BitFit and norm-only stages train exactly their parameter sets; BatchNorm statistics never move."""

import keras
import numpy as np
import pytest

from keras_transfer.models.classifier import get_backbone_layer
from keras_transfer.peft.parameters import bias_variables, norm_variables, tuned_variables
from keras_transfer.train import Stage, run_plan

HEAD = {"predictions/kernel", "predictions/bias"}


def fit_stage(model, batches, parameters):
    return run_plan(model, [Stage(parameters, 2, 1e-2, "all", parameters=parameters, patience=None)], None,
                    batches[0], None, monitor="loss", verbose=0)


def test_bitfit_trains_exactly_the_conv_biases_and_the_head(tiny_classifier, batches, moved):
    model = tiny_classifier()
    staged = None

    def run():
        nonlocal staged
        staged = fit_stage(model, batches, "bias")

    assert moved(model, run) == {"block1_conv/bias", "block2_conv/bias"} | HEAD
    assert staged.stage_history[0]["trainable_params"] == 8 + 16 + 16 * 3 + 3
    assert staged.stage_history[0]["parameters"] == "bias"


def test_norm_only_trains_gamma_and_beta_with_statistics_frozen_and_inference_mode(tiny_classifier, batches,
                                                                                   moved):
    model = tiny_classifier()
    changed = moved(model, lambda: fit_stage(model, batches, "norm"))
    assert changed == {f"block{i}_bn/{name}" for i in (1, 2) for name in ("gamma", "beta")} | HEAD
    backbone = get_backbone_layer(model)
    bn = backbone.get_layer("block1_bn")
    # Non-trainable as a layer, so Keras normalises with the (frozen) moving statistics even in training mode.
    assert bn.trainable is False and bn.gamma.trainable and not bn.moving_mean.trainable
    images = keras.ops.convert_to_tensor(batches[1][:8] / 127.5 - 1)
    assert np.array_equal(keras.ops.convert_to_numpy(backbone(images, training=True)),
                          keras.ops.convert_to_numpy(backbone(images, training=False)))


def test_bias_on_convolutions_without_bias_says_so_and_what_to_use():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    layers = keras.Model(inputs, x).layers
    with pytest.raises(ValueError, match=r"no bias vectors \(use_bias=False.*parameters='norm'.*vgg16"):
        tuned_variables(layers, "bias", "mobilenet's blocks")
    assert bias_variables(layers) == [] and [v.name for v in norm_variables(layers)] == ["gamma", "beta"]
    with pytest.raises(ValueError, match="parameters='norm' has nothing to train"):
        tuned_variables(layers[:2], "norm")
    with pytest.raises(ValueError, match="parameters='lora' has nothing to train"):
        tuned_variables(layers, "lora")
