"""CORAL and multi-kernel MMD against numpy references, zero for identical batches."""

import numpy as np
import pytest

from keras_transfer.adaptation.alignment_losses import DEFAULT_BANDWIDTHS, coral_loss, mmd_loss

RNG = np.random.default_rng(0)
SOURCE = RNG.normal(size=(12, 5)).astype(np.float32)
TARGET = (RNG.normal(size=(9, 5)) * 1.7 + 0.5).astype(np.float32)


def numpy_coral(source, target):
    d = source.shape[1]
    difference = np.cov(source, rowvar=False) - np.cov(target, rowvar=False)
    return np.sum(difference ** 2) / (4 * d * d)


def numpy_mmd(source, target, alphas=DEFAULT_BANDWIDTHS):
    joined = np.concatenate([source, target]).astype(np.float64)
    distances = ((joined[:, None, :] - joined[None, :, :]) ** 2).sum(-1)
    kernel = np.mean([np.exp(-distances / (alpha * distances.mean())) for alpha in alphas], axis=0)
    n = len(source)
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


def test_coral_matches_numpy_and_is_zero_for_identical_batches():
    assert float(coral_loss(SOURCE, TARGET)) == pytest.approx(numpy_coral(SOURCE, TARGET), rel=1e-4)
    assert float(coral_loss(SOURCE, SOURCE)) == pytest.approx(0.0, abs=1e-9)
    assert float(coral_loss(SOURCE, SOURCE + 3.0)) == pytest.approx(0.0, abs=1e-6)  # covariance only: a shift is free


def test_mmd_matches_numpy_and_is_zero_for_identical_batches():
    assert float(mmd_loss(SOURCE, TARGET)) == pytest.approx(numpy_mmd(SOURCE, TARGET), rel=1e-4)
    assert float(mmd_loss(SOURCE, SOURCE)) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd_loss(SOURCE, TARGET, bandwidths=(1.0,))) == pytest.approx(
        numpy_mmd(SOURCE, TARGET, (1.0,)), rel=1e-4)
    assert float(mmd_loss(SOURCE, SOURCE + 2.0)) > float(mmd_loss(SOURCE, SOURCE + 0.5)) > 0
    with pytest.raises(ValueError, match="positive kernel bandwidths"):
        mmd_loss(SOURCE, TARGET, bandwidths=(1.0, 0.0))
