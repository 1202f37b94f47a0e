"""TFLite files: every variant written, small enough, accurate, and agreeing with Keras."""

import numpy as np
import pytest

from keras_transfer.serving.inference import run_tflite
from keras_transfer.serving.tflite import TFLITE_DIR, TFLITE_VARIANTS


def test_tflite_files_and_accuracy(exported, shapes):
    results = exported.tflite
    assert list(results) == list(TFLITE_VARIANTS)
    for variant, result in results.items():
        assert result.path == exported.directory / TFLITE_DIR / f"model_{variant}.tflite"
        assert result.path.stat().st_size == result.size_bytes > 0
        assert result.accuracy is not None and result.accuracy >= 0.85, variant
    sizes = {variant: result.size_bytes for variant, result in results.items()}
    assert sizes["float16"] < 0.6 * sizes["float32"]
    assert sizes["dynamic_int8"] < 0.4 * sizes["float32"] and sizes["int8"] < 0.4 * sizes["float32"]
    assert results["int8"].input_dtype == "uint8"


def test_tflite_float32_matches_keras(exported, trained, shapes):
    pixels = shapes["x_val"].astype("float32")
    probabilities = run_tflite(exported.tflite["float32"].path, pixels)
    np.testing.assert_allclose(probabilities, trained.predict(pixels, verbose=0), atol=1e-3)


def test_tflite_full_int8_agrees_on_top1(exported, trained, shapes):
    pixels = shapes["x_val"].astype("float32")
    probabilities = run_tflite(exported.tflite["int8"].path, pixels)
    agreement = np.mean(probabilities.argmax(1) == trained.predict(pixels, verbose=0).argmax(1))
    assert agreement >= 0.95
    assert exported.tflite["int8"].agreement == pytest.approx(agreement)
