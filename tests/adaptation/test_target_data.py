"""Unlabeled target images from a folder, paths, arrays or tf.data; labels given with them are dropped."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.adaptation.target_data import load_unlabeled

NAMES = ["a", "b"]


def test_every_kind_of_source_gives_placeholder_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (5, 8, 8, 3), dtype=np.uint8)
    (tmp_path / "scans" / "sub").mkdir(parents=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / "scans" / ("sub" if index % 2 else "") / f"{index}.png")
    (tmp_path / "scans" / "notes.txt").write_text("not an image")
    folder = load_unlabeled(tmp_path / "scans", NAMES)
    assert len(folder) == 5 and folder.paths is not None and folder.class_names == NAMES
    paths = load_unlabeled([str(path) for path in sorted((tmp_path / "scans").rglob("*.png"))][:3], NAMES)
    assert len(paths) == 3
    array = load_unlabeled(images, NAMES)
    labelled = load_unlabeled((images, np.array([1, 0, 1, 1, 0])), NAMES)
    dataset = load_unlabeled(tf.data.Dataset.from_tensor_slices(images), NAMES)
    for spec in (folder, paths, array, labelled, dataset):
        assert not spec.labels.any() and spec.class_names == NAMES
    assert array.images.shape == (5, 8, 8, 3)
    assert [int(label) for _, label in dataset.dataset] == [0] * 5


def test_missing_or_empty_target_data_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs target_data="):
        load_unlabeled(None, NAMES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        load_unlabeled(tmp_path / "empty", NAMES)
