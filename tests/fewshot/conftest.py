"""Shared few-shot fixtures: a tiny learnable set and one prototype run on it, built once per session."""

import numpy as np
import pytest

from keras_transfer.testing.synthetic import make_shapes_arrays
from keras_transfer.testing.tiny import tiny_backbone


@pytest.fixture(scope="session")
def shapes_small():
    """4 classes x 8 images at 32 px, labels as class names."""
    x, y, names = make_shapes_arrays(4, 8, 32, seed=3)
    return x, np.array([names[i] for i in y]), names


@pytest.fixture(scope="session")
def support_result(shapes_small):
    """`few_shot` on 2 images of each of the first 3 classes (tiny backbone)."""
    import keras_transfer

    x, y, names = shapes_small
    chosen = np.concatenate([np.flatnonzero(y == name)[:2] for name in names[:3]])
    result = keras_transfer.few_shot((x[chosen], y[chosen]), backbone=tiny_backbone(32), weights="given",
                                     image_size=32, verbose=0)
    return result, chosen


@pytest.fixture(scope="session")
def support_export(support_result, tmp_path_factory):
    """The support run exported once (SavedModel, model.keras, labels, metadata)."""
    result, _ = support_result
    return result.export(tmp_path_factory.mktemp("few_shot") / "export", report=False)
