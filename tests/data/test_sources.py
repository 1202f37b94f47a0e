"""load_data: every source kind and clear errors for bad input."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data.scan import CorruptImageError, Reason
from keras_transfer.data.sources import from_arrays, load_data, to_spec


def _write_image(path, colour=(200, 10, 10), mode="RGB", size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, colour).convert(mode)
    image.save(path)
    return path


def test_csv_with_relative_paths(shapes_folder):
    train, val = load_data(str(shapes_folder / "labels.csv"), validation_split=0.2)
    assert train.class_names == ["circle", "square", "triangle"]
    assert len(train) + len(val) == 120
    assert all(str(shapes_folder) in p for p in train.paths)


def test_dataframe_multi_label_from_lists_and_delimited_strings(tmp_path):
    paths = [str(_write_image(tmp_path / f"{i}.png")) for i in range(4)]
    frame = pd.DataFrame({"path": paths, "tags": ["sky|sea", "sea", ["sky"], "sand|sky"]})
    spec = to_spec(frame)
    assert spec.multi_label
    assert spec.class_names == ["sand", "sea", "sky"]
    np.testing.assert_array_equal(spec.labels, [[0, 1, 1], [0, 1, 0], [0, 0, 1], [1, 0, 1]])


def test_arrays_with_string_one_hot_and_multi_hot_labels():
    images = np.zeros((4, 8, 8), "uint8")
    by_name = from_arrays(images, np.array(["dog", "cat", "dog", "cat"]))
    assert by_name.class_names == ["cat", "dog"] and by_name.labels.tolist() == [1, 0, 1, 0]
    assert by_name.images.shape == (4, 8, 8, 1)
    one_hot = from_arrays(images, np.eye(2)[[0, 1, 1, 0]])
    assert not one_hot.multi_label and one_hot.labels.tolist() == [0, 1, 1, 0]
    multi = from_arrays(images, np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]]))
    assert multi.multi_label and multi.labels.dtype == np.float32


def test_paths_and_labels_lists(tmp_path):
    paths = [str(_write_image(tmp_path / f"{i}.png")) for i in range(4)]
    spec = to_spec((paths, ["a", "b", "a", "b"]))
    assert spec.class_names == ["a", "b"] and list(spec.paths) == paths


def test_tf_dataset_batched_with_string_labels_is_split_stratified(shapes_arrays):
    x, y, names = shapes_arrays
    labels = np.array(names)[y]
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(7)
    train, val = load_data(dataset, validation_split=0.25, seed=0)
    assert train.class_names == names
    assert val.class_counts() == {name: 10 for name in names}
    first_image, first_label = next(iter(val.dataset))
    assert first_image.shape == (32, 32, 3) and first_label.dtype == tf.int64


def test_tf_dataset_of_dicts(shapes_arrays):
    x, y, _ = shapes_arrays
    dataset = tf.data.Dataset.from_tensor_slices({"image": x[:20], "label": y[:20]})
    assert len(to_spec(dataset)) == 20


def test_tfds_name_offline_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=30):
        train, val = load_data("tfds:tf_flowers", validation_split=0.2, seed=0)
    assert train.class_names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
    assert train.encoded and len(train) + len(val) == 30


def test_grayscale_and_rgba_files_become_rgb(tmp_path):
    from keras_transfer.data.images import decode_image

    grey = _write_image(tmp_path / "g.png", mode="L")
    rgba = _write_image(tmp_path / "a.png", mode="RGBA")
    for path in (grey, rgba):
        pixels = decode_image(tf.io.read_file(str(path)), (10, 12))
        assert pixels.shape == (10, 12, 3)


# --- clear errors ------------------------------------------------------------------


def test_folder_without_class_folders(tmp_path):
    _write_image(tmp_path / "loose.png")
    with pytest.raises(ValueError, match=r"No class sub-folders.*holds 1 images directly.*/cat/001.jpg"):
        load_data(tmp_path)


def test_class_folder_without_images_is_named(tmp_path):
    _write_image(tmp_path / "cat" / "1.png")
    (tmp_path / "dog").mkdir()
    (tmp_path / "dog" / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"Class folder .*dog has no images"):
        load_data(tmp_path)


def test_a_single_class_is_refused(tmp_path):
    _write_image(tmp_path / "cat" / "1.png")
    _write_image(tmp_path / "cat" / "2.png")
    with pytest.raises(ValueError, match="at least two"):
        load_data(tmp_path)


def test_no_images_at_all(tmp_path):
    with pytest.raises(ValueError, match="No class sub-folders"):
        load_data(tmp_path)


def test_csv_without_the_named_columns(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("name,kind\na.png,cat\n")
    with pytest.raises(ValueError, match=r"has no path column .*columns are \['name', 'kind'\].*path_column="):
        load_data(str(csv))
    with pytest.raises(ValueError, match=r"has no column 'label2'.*label_column="):
        load_data(str(csv), path_column="name", label_column="label2")


def test_csv_rows_pointing_to_missing_files(tmp_path):
    _write_image(tmp_path / "a.png")
    csv = tmp_path / "data.csv"
    csv.write_text("filename,label\na.png,cat\nmissing.png,dog\n")
    with pytest.raises(FileNotFoundError, match=r"1 of 2 rows point to files that do not exist.*missing.png"):
        load_data(str(csv))


def test_arrays_of_the_wrong_rank_or_with_nan():
    with pytest.raises(ValueError, match=r"shape \(N, H, W\).*got shape \(4, 8\)"):
        load_data((np.zeros((4, 8)), [0, 1, 0, 1]))
    bad = np.zeros((4, 8, 8, 3), "float32")
    bad[1, 2, 3, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite values"):
        load_data((bad, [0, 1, 0, 1]))


def test_label_count_mismatch_and_missing_labels():
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        load_data((np.zeros((4, 8, 8, 3)), [0, 1, 0]))
    with pytest.raises(ValueError, match="without labels"):
        load_data(np.zeros((4, 8, 8, 3)))


def test_missing_path_and_unsupported_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_data(str(tmp_path / "nowhere"))
    with pytest.raises(TypeError, match="Unsupported training data of type int"):
        load_data(3)


# --- broken files in a folder ------------------------------------------------------


def test_a_dangling_symlink_in_a_class_folder_is_skipped_with_its_reason(tmp_path):
    for name in ("cat", "dog"):
        for index in range(2):
            _write_image(tmp_path / name / f"{index}.png")
    link = tmp_path / "cat" / "moved.jpg"
    link.symlink_to(tmp_path / "elsewhere" / "moved.jpg")
    train, _ = load_data(tmp_path, validation_split=0)
    assert [(entry["path"], entry["reason"]) for entry in train.skipped] == [(str(link), Reason.BROKEN_LINK)]
    assert "does not exist" in train.skipped[0]["detail"]
    assert len(train) == 4 and str(link) not in set(train.paths)
    with pytest.raises(CorruptImageError, match=r"moved\.jpg.*link") as raised:
        load_data(tmp_path, validation_split=0, strict=True)
    assert (raised.value.path, raised.value.reason) == (str(link), Reason.BROKEN_LINK)
