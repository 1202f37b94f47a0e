"""build_model: preprocessing inside, the head, output activations, mixed precision."""

import keras
import numpy as np
import pytest

from keras_transfer.models.classifier import batchnorm_layers, build_model, get_backbone_layer, model_blocks


@pytest.mark.parametrize(
    ("num_classes", "multi_label", "units", "activation"),
    [(5, False, 5, "softmax"), (2, False, 1, "sigmoid"), (4, True, 4, "sigmoid")],
)
def test_head_matches_the_task(num_classes, multi_label, units, activation):
    model = build_model("mobilenetv2", num_classes, weights=None, image_size=32, multi_label=multi_label)
    head = model.get_layer("predictions")
    assert model.output_shape == (None, units)
    assert head.activation.__name__ == activation
    assert [layer.name for layer in model.layers][-3:-1] == ["avg_pool", "head_dropout"]


def test_model_takes_pixels_of_any_dtype():
    model = build_model("resnet50", 3, weights=None, image_size=32)
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3))
    as_uint8 = model.predict(pixels.astype("uint8"), verbose=0)
    as_float = model.predict(pixels.astype("float32"), verbose=0)
    np.testing.assert_allclose(as_uint8, as_float, atol=1e-6)
    np.testing.assert_allclose(as_float.sum(axis=1), 1.0, rtol=1e-5)


def test_optional_hidden_layer():
    model = build_model("vgg16", 3, weights=None, image_size=32, hidden_units=16)
    assert model.get_layer("head_hidden").units == 16


def test_pretrained_backbone_starts_frozen_and_scratch_batchnorm_is_quick(tmp_path):
    scratch = build_model("mobilenetv2", 3, weights=None, image_size=32)
    assert get_backbone_layer(scratch).trainable
    assert {layer.momentum for layer in batchnorm_layers(scratch)} == {0.9}
    path = str(tmp_path / "mnv2.weights.h5")
    get_backbone_layer(scratch).save_weights(path)
    pretrained = build_model("mobilenetv2", 3, weights=path, image_size=32)
    backbone = get_backbone_layer(pretrained)
    assert not backbone.trainable
    np.testing.assert_array_equal(backbone.get_weights()[0], get_backbone_layer(scratch).get_weights()[0])
    assert {layer.momentum for layer in batchnorm_layers(pretrained)} == {0.999}


def test_head_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model("mobilenetv2", 3, weights=None, image_size=32)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert get_backbone_layer(model).layers[2].compute_dtype == "float16"
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert model.output.dtype == "float32"


def test_model_blocks_finds_the_registry_blocks_from_the_model_name():
    model = build_model("resnet50", 3, weights=None, image_size=32)
    assert [block.name for block in model_blocks(model)] == ["conv1", "conv2", "conv3", "conv4", "conv5"]


def test_fewer_than_two_classes_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        build_model("vgg16", 1, weights=None, image_size=32)


def test_saved_model_reloads_in_safe_mode(tmp_path):
    model = build_model("densenet121", 3, weights=None, image_size=32)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(pixels, verbose=0), model.predict(pixels, verbose=0), atol=1e-5)


def test_load_model_is_safe_and_refuses_stored_code(tmp_path):
    from keras_transfer.models.classifier import load_model

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    unsafe = keras.Model(inputs, outputs)
    unsafe.save(tmp_path / "unsafe.keras")
    with pytest.raises(ValueError, match=r"Refused to load .*unsafe.keras.*Lambda layer.*safe_mode=False"):
        load_model(tmp_path / "unsafe.keras")
    safe = build_model("vgg16", 3, weights=None, image_size=32)
    safe.save(tmp_path / "safe.keras")
    assert load_model(tmp_path / "safe.keras").output_shape == (None, 3)
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model(tmp_path / "missing.keras")
