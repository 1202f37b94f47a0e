"""model.onnx: it matches Keras, and without tf2onnx the error says how to install it."""

import importlib.util
import sys

import numpy as np
import pytest

from keras_transfer.serving.export import export

HAS_ONNX = importlib.util.find_spec("tf2onnx") is not None and importlib.util.find_spec("onnxruntime") is not None


@pytest.mark.skipif(not HAS_ONNX, reason="needs the onnx extra: pip install 'keras-transfer[onnx]'")
def test_onnx_matches_keras(exported, trained, shapes):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    assert exported.onnx == exported.directory / "model.onnx" and exported.onnx.is_file()
    session = onnxruntime.InferenceSession(str(exported.onnx), providers=["CPUExecutionProvider"])
    pixels = shapes["x_val"].astype("float32")
    probabilities = session.run(["probabilities"], {"pixels": pixels})[0]
    np.testing.assert_allclose(probabilities, trained.predict(pixels, verbose=0), atol=1e-4)
    assert exported.metadata["onnx"]["agreement_with_keras"] == 1.0


def test_onnx_without_tf2onnx_says_how_to_install(trained, shapes, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'keras-transfer\[onnx\]'"):
        export(trained, tmp_path / "out", class_names=shapes["names"], onnx=True)
    assert list(tmp_path.iterdir()) == []
