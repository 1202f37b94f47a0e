"""`keras_transfer.serving.loading`: a classifier loaded back from an export folder or a .keras file, and its data."""

import json

import keras
import numpy as np
import pytest

from keras_transfer.data.sources import from_arrays
from keras_transfer.serving import loading

NAMES = ["circle", "square", "triangle"]


def tiny_model(units=3, activation="softmax", image_size=32):
    inputs = keras.Input((image_size, image_size, 3))
    outputs = keras.layers.Dense(units, activation=activation)(keras.layers.GlobalAveragePooling2D()(inputs))
    return keras.Model(inputs, outputs)


@pytest.fixture
def keras_file(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model().save(path)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n circle \nsquare\n\ntriangle\n")
    return path, labels


def test_a_keras_file_loads_with_its_labels_file(keras_file):
    path, labels = keras_file
    classifier = loading.load_classifier(path, labels=labels)
    assert classifier.class_names == NAMES and classifier.multi_label is False and classifier.config == {}
    assert loading.model_image_size(classifier.model) == (32, 32)
    assert loading.load_classifier(path).class_names is None


def test_an_export_folder_loads_with_its_metadata_and_labels_replace_its_names(keras_file, tmp_path):
    path, labels = keras_file
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.keras").write_bytes(path.read_bytes())
    (folder / "keras_transfer.json").write_text(json.dumps(
        {"class_names": ["a", "b", "c"], "multi_label": True, "training_config": {"seed": 3}}))
    classifier = loading.load_classifier(folder)
    assert classifier.class_names == ["a", "b", "c"] and classifier.multi_label is True
    assert classifier.config == {"seed": 3}
    assert loading.load_classifier(folder, labels=labels).class_names == NAMES


def test_what_cannot_be_loaded_says_why(keras_file, tmp_path):
    path, labels = keras_file
    with pytest.raises(FileNotFoundError, match="No model at"):
        loading.load_classifier(tmp_path / "none")
    with pytest.raises(ValueError, match="not a keras_transfer export folder"):
        loading.load_classifier(tmp_path)
    with pytest.raises(ValueError, match="neither an export folder nor a .keras model file"):
        loading.load_classifier(labels)
    with pytest.raises(FileNotFoundError, match="No labels file"):
        loading.load_classifier(path, labels=tmp_path / "none.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(ValueError, match="lists no class names"):
        loading.read_labels(empty)


def test_model_input_size_and_output_kind():
    with pytest.raises(ValueError, match="without a fixed image size"):
        loading.model_image_size(tiny_model(image_size=None))
    assert loading.model_multi_label(tiny_model()) is False
    assert loading.model_multi_label(tiny_model(1, "sigmoid")) is False
    assert loading.model_multi_label(tiny_model(3, "sigmoid")) is True
    assert loading.model_multi_label(tiny_model(3, None)) is None


def test_evaluation_batches_come_in_order_through_the_progress_callback():
    images = np.arange(5 * 8 * 8 * 3, dtype=np.uint8).reshape(5, 8, 8, 3)
    spec = from_arrays(images, np.array([0, 1, 2, 0, 1]), class_names=NAMES)
    totals = []

    def progress(batches, total):
        totals.append(total)
        return batches

    batches = list(loading.evaluation_dataset(spec, (8, 8), 2, progress=progress))
    assert totals == [3] and [len(labels) for _, labels in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([labels for _, labels in batches]), [0, 1, 2, 0, 1])
    plain = list(loading.evaluation_dataset(spec, (8, 8), 5))
    np.testing.assert_allclose(plain[0][0], np.concatenate([pixels for pixels, _ in batches]))


def test_labelled_batches_check_the_label_kind(shapes_folder):
    assert loading.labelled_batches(None, (32, 32), NAMES, False) is None
    pixels, labels = next(iter(loading.labelled_batches(str(shapes_folder), (32, 32), NAMES, False, batch_size=4)))
    assert pixels.shape == (4, 32, 32, 3) and labels.shape == (4,)
    with pytest.raises(ValueError, match="single-label labels but the model is multi-label"):
        loading.labelled_batches(str(shapes_folder), (32, 32), NAMES, True)


def test_collect_images_expands_folders_in_place(tmp_path):
    (tmp_path / "more" / "deep").mkdir(parents=True)
    for name in ("more/b.png", "more/deep/c.jpg", "a.jpg", "more/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    files = loading.collect_images([tmp_path / "a.jpg", tmp_path / "more"])
    assert files == [tmp_path / "a.jpg", tmp_path / "more" / "b.png", tmp_path / "more" / "deep" / "c.jpg"]
    with pytest.raises(FileNotFoundError, match="No such image file or folder"):
        loading.collect_images([tmp_path / "missing.png"])


def test_predict_files_skips_what_the_predictor_cannot_decode(tmp_path):
    class Predictor:
        def predict(self, paths, top_k):
            if any(path.name.startswith("broken") for path in paths):
                raise ValueError(f"cannot decode {paths[0].name}")
            return [{"input": str(path), "top_k": top_k} for path in paths]

    files = [tmp_path / name for name in ("a.png", "broken.png", "b.png", "c.png", "d.png")]
    done = []
    results, skipped = loading.predict_files(Predictor(), files, top_k=2, batch_size=2, on_batch=done.append)
    assert [row["input"] for row in results] == [str(files[i]) for i in (0, 2, 3, 4)]
    assert skipped == [(files[1], "cannot decode broken.png")] and done == [2, 2, 1]
