"""Images without labels from a folder, paths, arrays or tf.data: every label is the caller's placeholder."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data.unlabeled import unlabeled_images

NAMES = ["a", "b"]


def test_every_kind_of_source_gives_placeholder_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (5, 8, 8, 3), dtype=np.uint8)
    (tmp_path / "scans" / "sub").mkdir(parents=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "scans" / ("sub" if index % 2 else "") / f"{index}.png")
    (tmp_path / "scans" / "notes.txt").write_text("not an image")
    Image.fromarray(images[0]).save(tmp_path / "scans" / ".hidden.png")
    folder = unlabeled_images(tmp_path / "scans", NAMES)
    assert len(folder) == 5 and folder.paths is not None and folder.class_names == NAMES
    paths = unlabeled_images([str(path) for path in sorted((tmp_path / "scans").rglob("[0-9].png"))][:3], NAMES)
    assert len(paths) == 3
    array = unlabeled_images(images, NAMES)
    labelled = unlabeled_images((images, np.array([1, 0, 1, 1, 0])), NAMES)
    dataset = unlabeled_images(tf.data.Dataset.from_tensor_slices(images), NAMES)
    for spec in (folder, paths, array, labelled, dataset):
        assert not spec.labels.any() and spec.class_names == NAMES
    assert array.images.shape == (5, 8, 8, 3)
    assert [int(label) for _, label in dataset.dataset] == [0] * 5


def test_the_placeholder_is_the_callers(tmp_path):
    grey = np.zeros((4, 8, 8), np.uint8)
    spec = unlabeled_images(grey, ["a", "b", "c"], label=-1)
    assert list(spec.labels) == [-1] * 4
    assert list(unlabeled_images((grey, np.arange(4)), NAMES, label=-1).labels) == [-1] * 4  # pair labels dropped
    dataset = unlabeled_images(tf.data.Dataset.from_tensor_slices((grey, np.arange(4))), NAMES, label=-1)
    assert [int(label) for _, label in dataset.dataset] == [-1] * 4


def test_missing_empty_or_unreadable_data_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="target_data is missing"):
        unlabeled_images(None, NAMES, option="target_data")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="The unlabeled_data folder has no images"):
        unlabeled_images(tmp_path / "empty", NAMES, option="unlabeled_data")
    with pytest.raises(ValueError, match=r"must be images \(N, H, W\[, C\]\) with N > 0"):
        unlabeled_images(np.zeros((0, 8, 8, 3)), NAMES)
    with pytest.raises(ValueError, match="unlabeled_data must be a folder, a list of image files, an image array"):
        unlabeled_images(42, NAMES, option="unlabeled_data")
