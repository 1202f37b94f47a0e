"""A tiny teacher trained once for the distillation tests: 3 shape classes at 32 px."""

import pytest


@pytest.fixture(scope="session")
def shapes_small():
    from keras_transfer.testing.synthetic import make_shapes_arrays

    return make_shapes_arrays(num_classes=3, per_class=16, image_size=32, seed=0)


@pytest.fixture(scope="session")
def tiny_teacher(shapes_small):
    import keras_transfer
    from keras_transfer.testing.tiny import tiny_backbone

    x, y, _ = shapes_small
    # One head stage on cached features: a teacher in seconds (its quality does not matter to these tests).
    return keras_transfer.build_and_fit((x, y), backbone=tiny_backbone(32), weights="given", image_size=32,
                                        stages=[{"name": "head", "train_blocks": 0, "epochs": 3}], verbose=0, seed=0)
