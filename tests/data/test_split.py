"""The validation split: stratified by class, seeded, and no class left out of training."""

import numpy as np

from keras_transfer.data.sources import from_arrays, load_data
from keras_transfer.data.split import split_spec


def test_folder_gives_sorted_classes_and_a_stratified_seeded_split(shapes_folder):
    train, val = load_data(shapes_folder, validation_split=0.25, seed=3)
    assert train.class_names == ["circle", "square", "triangle"]
    assert train.class_counts() == {"circle": 30, "square": 30, "triangle": 30}
    assert val.class_counts() == {"circle": 10, "square": 10, "triangle": 10}
    assert not set(train.paths) & set(val.paths)
    again_train, _ = load_data(shapes_folder, validation_split=0.25, seed=3)
    np.testing.assert_array_equal(train.paths, again_train.paths)
    other_train, _ = load_data(shapes_folder, validation_split=0.25, seed=4)
    assert set(train.paths) != set(other_train.paths)


def test_validation_split_keeps_every_class_in_training():
    spec = from_arrays(np.zeros((7, 4, 4, 3)), [0, 0, 0, 0, 0, 1, 1])
    train, val = split_spec(spec, 0.5, seed=0)
    assert train.class_counts()["1"] >= 1 and val.class_counts()["1"] >= 1
