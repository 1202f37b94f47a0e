"""The registry: every keras.applications backbone builds, is cut into ordered blocks, preprocesses right."""

import keras
import numpy as np
import pytest

from keras_transfer.models import backbones
from keras_transfer.models.backbones import REGISTRY, custom_backbone, get_backbone, list_backbones
from keras_transfer.models.classifier import build_model
from keras_transfer.models.preprocessing import BackbonePreprocessing

KERAS_CONSTRUCTORS = sorted(name for name in dir(keras.applications) if name[0].isupper())


def test_registry_covers_every_keras_applications_constructor():
    assert sorted(spec.keras_name for spec in REGISTRY.values()) == KERAS_CONSTRUCTORS
    assert len(list_backbones()) == 40


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_backbone_builds_and_its_blocks_cover_its_layers_in_order(name):
    spec = REGISTRY[name]
    backbone = spec.build(spec.min_size, weights=None)
    blocks = spec.blocks(backbone)
    flattened = [layer for block in blocks for layer in block.layers]
    assert flattened == list(backbone.layers), "blocks must hold every layer once, in model order"
    names = [block.name for block in blocks]
    assert len(names) == len(set(names)), f"duplicate block names {names}"
    assert len(blocks) >= 5, f"{name} cut into only {names}"
    assert backbone.layers[0] in blocks[0].layers
    keras.backend.clear_session()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_baked_in_preprocessing_matches_the_backbones_own_preprocess_input(name):
    spec = REGISTRY[name]
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = spec.preprocess_input(pixels.copy())
    ours = BackbonePreprocessing(spec.preprocessing)(pixels)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-5, atol=1e-4)


def test_backbones_with_identity_preprocess_input_preprocess_inside_themselves():
    for name in ("efficientnetb0", "efficientnetv2b0", "convnexttiny", "mobilenetv3small"):
        spec = REGISTRY[name]
        assert spec.preprocessing == "none"
        backbone = spec.build(32, weights=None)
        assert any(isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization)) or "prestem" in layer.name
                   for layer in backbone.layers[:4]), name


def test_preprocessing_accepts_uint8_pixels():
    pixels = np.full((1, 2, 2, 3), 255, "uint8")
    assert float(BackbonePreprocessing("tf")(pixels)[0, 0, 0, 0]) == pytest.approx(1.0)


def test_names_are_case_and_separator_insensitive():
    assert get_backbone("EfficientNetV2B0") is get_backbone("efficientnet_v2_b0") is REGISTRY["efficientnetv2b0"]


def test_unknown_backbone_names_close_matches():
    with pytest.raises(ValueError, match=r"Unknown backbone 'efficentnetb0'.*'efficientnetb0'"):
        get_backbone("efficentnetb0")


def test_input_smaller_than_the_minimum_is_refused_with_the_minimum():
    with pytest.raises(ValueError, match=r"smaller than InceptionV3's minimum of 75x75.*image_size=75"):
        build_model("inceptionv3", 3, weights=None, image_size=32)


def test_missing_weights_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*weights='imagenet'"):
        build_model("vgg16", 3, weights=str(tmp_path / "nope.h5"), image_size=32)


def test_failed_imagenet_download_names_file_cache_folder_and_weights_path(monkeypatch, tmp_path):
    from urllib.error import URLError

    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise URLError("no internet")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(file_utils, "get_file", _get_file_in(tmp_path, file_utils.get_file))
    with pytest.raises(RuntimeError) as info:
        build_model("mobilenetv2", 3, weights="imagenet", image_size=96)
    message = str(info.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in message
    assert str(tmp_path / "models") in message
    assert "weights='/path/to/" in message


def _get_file_in(cache, real_get_file):
    def get_file(*args, **kwargs):
        kwargs["cache_dir"] = str(cache)
        return real_get_file(*args, **kwargs)

    return get_file


def test_custom_backbone_with_named_blocks_and_a_preprocessing_layer():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, name="low_conv")(inputs)
    x = keras.layers.Conv2D(8, 3, name="mid_conv")(x)
    x = keras.layers.Conv2D(8, 3, name="high_conv")(x)
    mine = keras.Model(inputs, x, name="mine")
    spec = custom_backbone(mine, preprocessing="tf", blocks=["low_conv", "mid_conv", "high_conv"])
    model = build_model(spec, 3, weights=None, image_size=32)
    assert [block.name for block in spec.blocks(mine)] == ["low_conv", "mid_conv", "high_conv"]
    assert model.output_shape == (None, 3)
    assert model.get_layer("preprocessing").mode == "tf"


def test_custom_backbone_rejects_unknown_block_layers():
    inputs = keras.Input((8, 8, 3))
    mine = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))
    with pytest.raises(ValueError, match="does not have.*'nope'"):
        custom_backbone(mine, blocks=["conv", "nope"])


def test_segment_layers_end_mode_puts_trailing_layers_in_top():
    layers = list("abcdef")
    blocks = backbones.segment_layers(layers, [None, "x", None, "y", None, None], mode="end")
    assert [(b.name, b.layers) for b in blocks] == [("x", ("a", "b")), ("y", ("c", "d")), ("top", ("e", "f"))]


def test_a_truncated_backbone_ends_at_its_block_with_the_same_weights_and_its_blocks_up_to_there(tmp_path):
    spec = get_backbone("MobileNet:block9")
    assert spec.name == "mobilenet:block9" and spec.output_block == "block9"
    assert get_backbone("mobilenet").truncated("block9") == spec
    whole = get_backbone("mobilenet").build(64, weights=None)
    weights = tmp_path / "mobilenet.weights.h5"
    whole.save_weights(weights)
    cut = spec.build(64, weights=str(weights))
    assert cut.output_shape == (None, 4, 4, 512)
    assert [block.name for block in spec.blocks(cut)][-1] == "block9"
    inner = keras.Model(whole.inputs, whole.get_layer("conv_pw_9_relu").output)
    pixels = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(cut(pixels)), np.asarray(inner(pixels)), atol=1e-5)
    cut.save_weights(tmp_path / "cut.weights.h5")  # the truncated network's own file (as meta_train saves it)
    again = spec.build(64, weights=str(tmp_path / "cut.weights.h5"))
    np.testing.assert_allclose(np.asarray(again(pixels)), np.asarray(inner(pixels)), atol=1e-5)
    with pytest.raises(ValueError, match="holds weights of neither VGG16 .* nor of vgg16:block4"):
        get_backbone("vgg16:block4").build(32, weights=str(tmp_path / "cut.weights.h5"))
    model = build_model("mobilenet:block9", 3, weights=None, image_size=64)
    assert model.name == "mobilenet_to_block9_classifier"
    from keras_transfer.models.classifier import model_blocks

    assert [block.name for block in model_blocks(model)][-1] == "block9"
    keras.backend.clear_session()


def test_a_truncated_backbone_names_the_blocks_it_has_when_the_block_is_unknown():
    with pytest.raises(ValueError, match=r"no block 'block99'.*'block5'"):
        get_backbone("vgg16:block99").build(32, weights=None)
    with pytest.raises(ValueError, match="A block name is needed"):
        get_backbone("vgg16:")
    truncated = custom_backbone(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="conv_a"),
                                                  keras.layers.Conv2D(2, 3, name="conv_b")]),
                                blocks=["conv_a", "conv_b"], name="two").truncated("conv_a")
    assert truncated.name == "two:conv_a" and truncated.build(8, weights="given").output_shape == (None, 6, 6, 2)


def test_a_custom_backbone_loads_a_weights_file_into_a_copy_and_names_a_missing_or_wrong_one(tmp_path):
    def two_convs(seed):
        inputs = keras.Input((8, 8, 3))
        x = keras.layers.Conv2D(2, 3, name="conv_a", kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
        x = keras.layers.Conv2D(2, 3, name="conv_b", kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
        return keras.Model(inputs, x, name="two")

    mine, other = two_convs(0), two_convs(1)
    other.save_weights(tmp_path / "other.weights.h5")
    spec = custom_backbone(mine, blocks=["conv_a", "conv_b"])
    pixels = np.random.default_rng(0).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    mine_before = np.asarray(mine(pixels))
    loaded = spec.build(8, weights=str(tmp_path / "other.weights.h5"))
    assert loaded is not mine
    np.testing.assert_allclose(np.asarray(loaded(pixels)), np.asarray(other(pixels)), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(mine(pixels)), mine_before)  # the user's model is untouched
    assert spec.build(8, weights="imagenet") is mine and spec.build(8, weights="given") is mine
    cut = spec.truncated("conv_a").build(8, weights=str(tmp_path / "other.weights.h5"))
    np.testing.assert_allclose(np.asarray(cut(pixels)), np.asarray(other.get_layer("conv_a")(pixels)), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="does not exist: pass weights='imagenet' to use the custom"):
        spec.build(8, weights=str(tmp_path / "missing.weights.h5"))
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Conv2D(5, 1, name="conv_a")(inputs)).save_weights(tmp_path / "wrong.weights.h5")
    with pytest.raises(ValueError, match="does not hold weights of the custom backbone 'two'"):
        spec.build(8, weights=str(tmp_path / "wrong.weights.h5"))
