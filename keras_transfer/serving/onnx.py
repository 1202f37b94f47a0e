"""`model.onnx`: the pixels → probabilities function converted with tf2onnx, and checked with ONNX Runtime.

Needs the `onnx` extra (`pip install 'keras-transfer[onnx]'`: tf2onnx and
onnxruntime); tf2onnx is imported only when an ONNX file is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.optional import require
from keras_transfer.serving.scoring import compare_with_keras
from keras_transfer.serving.spec import ServingSpec

ONNX_FILE = "model.onnx"
ONNX_OPSET = 17


def require_tf2onnx() -> ModuleType:
    """The tf2onnx module, or an ImportError that says how to install it.

    Returns:
        The `tf2onnx` module.

    Raises:
        keras_transfer.optional.MissingExtraError: (an ImportError) tf2onnx is
            not installed; the message gives the `pip install` line.

    Example:
        >>> tf2onnx = require_tf2onnx()
    """
    return require("tf2onnx", "ONNX export (onnx=True: tf2onnx and onnxruntime)")


def write_onnx(
    function: Any,
    path: Path,
    spec: ServingSpec,
    validation: tuple | None,
    reference: np.ndarray | None,
) -> dict:
    """Converts the pixels → probabilities function to ONNX with tf2onnx and writes `path`.

    The ONNX model takes `pixels` (float32, batch × height × width × 3, RGB
    0–255) and returns `probabilities`. With onnxruntime installed and
    validation data given, it is scored like the TFLite files.

    Args:
        function: from `probability_function`.
        path: the `.onnx` file to write.
        spec: the `ServingSpec`.
        validation: `(pixels, labels)` or None.
        reference: the Keras model's probabilities on the validation pixels.

    Returns:
        `{"file", "size_bytes", "opset", "accuracy", "agreement_with_keras", "max_abs_diff_vs_keras"}`
        (the last three only when the file could be scored).

    Example:
        >>> write_onnx(probability_function(model, spec), Path("out/model.onnx"), spec, None, None)["opset"]
        17
    """
    tf2onnx = require_tf2onnx()
    _patch_tf2onnx_for_numpy2()
    height, width = spec.image_size
    signature = [tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")]
    with _quiet_tf2onnx():
        tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET, output_path=str(path))
    info = {"file": path.name, "size_bytes": path.stat().st_size, "opset": ONNX_OPSET}
    if validation is not None and reference is not None:
        probabilities = _run_onnx(path, validation[0])
        if probabilities is not None:
            info.update(compare_with_keras(probabilities, validation, reference, spec))
    return info


def _patch_tf2onnx_for_numpy2() -> None:
    """Applies Keras' compatibility patch for tf2onnx under NumPy 2, when Keras has it."""
    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()


@contextlib.contextmanager
def _quiet_tf2onnx() -> Iterator[None]:
    """Silences tf2onnx's per-optimizer tracebacks (it logs failed optional rewrites and goes on)."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run_onnx(path: Path, pixels: np.ndarray) -> np.ndarray | None:
    """ONNX Runtime's probabilities, or None without onnxruntime (the file is then left unscored)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"pixels": pixels.astype(np.float32)})[0]
