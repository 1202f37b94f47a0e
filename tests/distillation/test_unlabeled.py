"""Unlabeled images as a spec the teacher labels: arrays, folders, and what is refused."""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.distillation.unlabeled import UNLABELED, unlabeled_spec


def test_arrays_folders_and_bad_inputs(tmp_path):
    grey = np.zeros((4, 8, 8), np.uint8)
    spec = unlabeled_spec(grey, ["a", "b", "c"])
    assert spec.images.shape == (4, 8, 8, 3) and list(spec.labels) == [UNLABELED] * 4
    assert len(unlabeled_spec((grey, np.arange(4)), ["a", "b", "c"])) == 4  # labels of a pair are ignored
    (tmp_path / "nested").mkdir()
    for index, folder in enumerate([tmp_path, tmp_path / "nested"]):
        Image.fromarray(np.full((8, 8, 3), index * 50, np.uint8)).save(folder / f"{index}.png")
    from_folder = unlabeled_spec(tmp_path, ["a", "b", "c"])
    assert len(from_folder) == 2 and from_folder.paths is not None and set(from_folder.labels) == {UNLABELED}
    with pytest.raises(ValueError, match=r"must be images \(N, H, W\[, C\]\) with N > 0"):
        unlabeled_spec(np.zeros((0, 8, 8, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="unlabeled_data must be an image array"):
        unlabeled_spec(42, ["a", "b", "c"])
