"""Tiny data and a tiny backbone for the search tests: each trial trains in about a second."""

import pytest


@pytest.fixture(scope="session")
def tiny_shapes():
    from keras_transfer.testing.synthetic import make_shapes_arrays

    return make_shapes_arrays(num_classes=3, per_class=12, image_size=32, seed=0)


@pytest.fixture
def tiny_fixed():
    """The build_and_fit options every search test holds constant (a fresh tiny backbone each test)."""
    from keras_transfer.testing.tiny import tiny_backbone

    return {"backbone": tiny_backbone(32), "weights": "given", "image_size": 32, "epochs": 1, "batch_size": 16,
            "head_init": None}


class ManualClock:
    """A clock the test moves: `advance(seconds)`; reading it never moves it."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def manual_clock():
    return ManualClock()
