"""load() and Predictor: every input type, directories, DataFrames, errors; the binary model's two columns.

One small binary classifier (a tiny CNN backbone, one sigmoid unit) is trained
on circles vs squares and exported once; the tests predict with that export.
"""

import io
import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.models.backbones import custom_backbone
from keras_transfer.models.classifier import build_model
from keras_transfer.serving.export import METADATA_FILE, export
from keras_transfer.serving.inference import Predictor, image_files, load
from keras_transfer.testing.synthetic import make_shapes_arrays

NAMES = ["circle", "square"]


def tiny_backbone() -> keras.Model:
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv2")(x)
    return keras.Model(inputs, x, name="tiny")


@pytest.fixture(scope="module")
def data():
    x_train, y_train, names = make_shapes_arrays(2, per_class=40, image_size=32, seed=0)
    x_val, y_val, _ = make_shapes_arrays(2, per_class=10, image_size=32, seed=1)
    assert names == NAMES
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val}


@pytest.fixture(scope="module")
def binary_model(data):
    keras.utils.set_random_seed(0)
    model = build_model(custom_backbone(tiny_backbone(), preprocessing="tf"), 2, weights=None, image_size=32)
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
    model.fit(data["x_train"], data["y_train"], epochs=15, batch_size=16, verbose=0)
    assert model.output_shape == (None, 1)
    return model


@pytest.fixture(scope="module")
def export_dir(binary_model, tmp_path_factory):
    directory = tmp_path_factory.mktemp("inference") / "binary"
    export(binary_model, directory, class_names=NAMES)
    return directory


@pytest.fixture(scope="module")
def predictor(export_dir):
    return load(export_dir)


@pytest.fixture(scope="module")
def image_folder(data, tmp_path_factory):
    """Validation images as PNG and JPEG files in nested folders, plus a file that is not an image."""
    root = tmp_path_factory.mktemp("images")
    (root / "nested" / "deeper").mkdir(parents=True)
    paths = []
    for index, image in enumerate(data["x_val"][:6]):
        folder = root if index < 2 else root / "nested" if index < 4 else root / "nested" / "deeper"
        suffix = ".PNG" if index % 2 else ".png"
        path = folder / f"image_{index}{suffix}"
        Image.fromarray(image).save(path, format="PNG")
        paths.append(path)
    (root / "notes.txt").write_text("not an image")
    return root, paths


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_binary_export_serves_two_columns(export_dir, binary_model, data):
    serve = tf.saved_model.load(str(export_dir / "saved_model")).signatures["serving_pixels"]
    pixels = data["x_val"].astype("float32")
    probabilities = serve(pixels=tf.constant(pixels))["probabilities"].numpy()
    sigmoid = binary_model.predict(pixels, verbose=0)[:, 0]
    assert probabilities.shape == (len(pixels), 2)
    np.testing.assert_allclose(probabilities[:, 1], sigmoid, atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert np.mean(probabilities.argmax(axis=1) == data["y_val"]) >= 0.9
    metadata = json.loads((export_dir / METADATA_FILE).read_text())
    assert metadata["output"].startswith("one sigmoid = P(square)")
    assert metadata["top_k"] == 2


def test_predictor_attributes(predictor, export_dir):
    assert isinstance(predictor, Predictor)
    assert predictor.class_names == NAMES and predictor.image_size == (32, 32)
    assert predictor.multi_label is False and predictor.directory == export_dir
    assert "circle" in repr(predictor)


def test_every_input_type_gives_the_same_answer(predictor, data, image_folder):
    image = data["x_val"][0]
    path = image_folder[1][0]
    inputs = [
        str(path),
        path,
        png(image),
        bytearray(png(image)),
        Image.fromarray(image),
        image,
        image.astype("float32"),
        tf.constant(image),
    ]
    results = predictor.predict(inputs)
    assert [result["input"] for result in results[:3]] == [str(path), str(path), "bytes[2]"]
    reference = results[0]["top_k"]
    for result in results:
        assert [entry["class_name"] for entry in result["top_k"]] == [e["class_name"] for e in reference]
        np.testing.assert_allclose(
            [e["probability"] for e in result["top_k"]], [e["probability"] for e in reference], atol=1e-4
        )
    assert results[0]["class_name"] == NAMES[data["y_val"][0]]


def test_result_structure_and_top_k(predictor, data):
    single = predictor.predict(data["x_val"][0])
    assert len(single) == 1
    result = single[0]
    assert set(result) == {"input", "class_name", "probability", "top_k"}
    assert result["class_name"] == result["top_k"][0]["class_name"]
    assert result["probability"] == result["top_k"][0]["probability"]
    assert len(result["top_k"]) == 2
    assert len(predictor.predict(data["x_val"][0], top_k=1)[0]["top_k"]) == 1
    with pytest.raises(ValueError, match="top_k must be an integer from 1 to 2"):
        predictor.predict(data["x_val"][0], top_k=3)


def test_batches_keep_order_across_bytes_and_pixels(predictor, data):
    images = data["x_val"]
    mixed = [png(image) if index % 2 else image for index, image in enumerate(images)]
    by_batch = predictor.predict_probabilities(images, batch_size=3)
    np.testing.assert_allclose(predictor.predict_probabilities(mixed, batch_size=4), by_batch, atol=1e-4)
    results = predictor.predict(images)
    assert [r["input"] for r in results] == [f"array[{i}]" for i in range(len(images))]
    assert np.mean([r["class_name"] == NAMES[label] for r, label in zip(results, data["y_val"])]) >= 0.9


def test_other_sizes_grayscale_and_alpha_are_accepted(predictor, data):
    image = data["x_val"][0]
    bigger = np.asarray(Image.fromarray(image).resize((64, 48)))
    rgba = np.concatenate([image, np.full((32, 32, 1), 255, np.uint8)], axis=-1)
    gray = image.mean(axis=-1).astype(np.uint8)
    results = predictor.predict([bigger, rgba, gray, Image.fromarray(gray)])
    assert len(results) == 4
    np.testing.assert_allclose(
        predictor.predict_probabilities(rgba), predictor.predict_probabilities(image), atol=1e-6
    )


def test_dataframe(predictor, data):
    frame = predictor.predict(list(data["x_val"][:3]), as_dataframe=True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["input", "class_name", "probability", "top_k"]
    assert len(frame) == 3


def test_predict_dir(predictor, image_folder):
    root, paths = image_folder
    results = predictor.predict_dir(root)
    assert [r["input"] for r in results] == sorted(str(p) for p in paths)
    assert len(predictor.predict_dir(root, recursive=False)) == 2
    frame = predictor.predict_dir(root / "nested", as_dataframe=True, top_k=1)
    assert len(frame) == 4 and all(len(entry) == 1 for entry in frame["top_k"])
    assert image_files(root) == sorted(paths)


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (42, TypeError, "Unsupported input int"),
        ({"image": "x"}, TypeError, "Unsupported input dict"),
        ([], ValueError, "empty list"),
        (b"", ValueError, "bytes\\[0\\] is empty"),
        (np.zeros((32, 32, 2)), ValueError, "shape \\(32, 32, 2\\)"),
        (np.array([["a"]]), TypeError, "dtype <U1"),
        ("no/such/image.jpg", FileNotFoundError, "No such image file: no/such/image.jpg"),
    ],
)
def test_bad_inputs(predictor, bad, error, message):
    with pytest.raises(error, match=message):
        predictor.predict(bad)


def test_undecodable_bytes_are_named(predictor, data):
    good = png(data["x_val"][0])
    with pytest.raises(ValueError, match=r"Could not decode bytes\[1\]: it is not a JPEG, PNG, GIF, BMP or WebP"):
        predictor.predict([good, b"this is not an image", good])


def test_folder_and_file_mix_ups(predictor, image_folder):
    root, paths = image_folder
    with pytest.raises(IsADirectoryError, match="use predict_dir"):
        predictor.predict(root)
    with pytest.raises(NotADirectoryError, match="use predict\\(\\) for single files"):
        predictor.predict_dir(paths[0])
    with pytest.raises(FileNotFoundError, match="No such folder"):
        predictor.predict_dir(root / "missing")


def test_folder_without_images(predictor, tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(ValueError, match="No image files"):
        predictor.predict_dir(tmp_path)


def test_scaled_pixels_warn(predictor, data):
    with pytest.warns(UserWarning, match="floats in 0-1"):
        predictor.predict(data["x_val"][0].astype("float32") / 255.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predictor.predict(data["x_val"][0].astype("float32"))


def test_load_errors(tmp_path, export_dir):
    with pytest.raises(FileNotFoundError, match="No export folder"):
        load(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        load(tmp_path / "file.txt")
    with pytest.raises(ValueError, match="not a keras_transfer export folder \\(missing keras_transfer.json"):
        load(tmp_path)
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "saved_model").mkdir()
    (newer / "saved_model" / "saved_model.pb").write_bytes(b"")
    (newer / METADATA_FILE).write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ValueError, match="upgrade keras_transfer"):
        load(newer)


def test_load_accepts_the_saved_model_subfolder(export_dir, predictor, data):
    again = load(Path(export_dir) / "saved_model")
    assert again.directory == export_dir
    np.testing.assert_allclose(
        again.predict_probabilities(data["x_val"][:3]), predictor.predict_probabilities(data["x_val"][:3])
    )


def test_multi_label_results_list_labels(tmp_path, data):
    keras.utils.set_random_seed(1)
    model = build_model(
        custom_backbone(tiny_backbone(), preprocessing="tf"), 3, weights=None, image_size=32, multi_label=True
    )
    export(model, tmp_path / "multi", class_names=["red", "round", "big"], multi_label=True, top_k=3)
    multi = load(tmp_path / "multi")
    assert multi.multi_label
    multi.threshold = 0.0
    result = multi.predict(data["x_val"][0])[0]
    assert result["labels"] == ["red", "round", "big"]
    multi.threshold = 1.01
    assert multi.predict(data["x_val"][0])[0]["labels"] == []
    probabilities = multi.predict_probabilities(data["x_val"][:2])
    assert probabilities.shape == (2, 3)
    assert not np.allclose(probabilities.sum(axis=1), 1.0)
