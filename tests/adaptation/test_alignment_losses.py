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


def numpy_mcc(probabilities, temperature):
    logits = np.log(np.clip(probabilities.astype(np.float64), 1e-12, 1)) / temperature
    predictions = np.exp(logits - logits.max(1, keepdims=True))
    predictions /= predictions.sum(1, keepdims=True)
    entropy = -(predictions * np.log(predictions + 1e-5)).sum(1)
    weight = 1 + np.exp(-entropy)
    weight = len(predictions) * weight / weight.sum()
    confusion = (predictions * weight[:, None]).T @ predictions
    confusion = confusion / confusion.sum(axis=1)  # as tllib: column j divided by row sum j (C is symmetric)
    return (confusion.sum() - np.trace(confusion)) / predictions.shape[1]


def test_mcc_matches_numpy_is_zero_for_sure_predictions_and_grows_with_confusion():
    from keras_transfer.adaptation.class_confusion import mcc_loss

    logits = RNG.normal(size=(16, 4)) * 2
    probabilities = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    for temperature in (1.0, 2.5):
        assert float(mcc_loss(probabilities, temperature)) == pytest.approx(numpy_mcc(probabilities, temperature),
                                                                            rel=1e-4)
    assert float(mcc_loss(np.eye(4, dtype=np.float32), 1.0)) == pytest.approx(0.0, abs=1e-6)
    uniform = np.full((8, 4), 0.25, np.float32)
    assert float(mcc_loss(uniform, 1.0)) == pytest.approx(0.75, abs=1e-6)  # every column spread over 4 classes
    assert float(mcc_loss(uniform, 1.0)) > float(mcc_loss(probabilities, 1.0)) > 0
    with pytest.raises(ValueError, match="positive temperature"):
        mcc_loss(probabilities, 0.0)
