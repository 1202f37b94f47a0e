"""Optional capabilities behind extras: imported only when used, with the `pip install` line when missing.

`import keras_transfer` never imports KerasHub, KerasTuner or tf2onnx.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# module -> (extra, what it is for)
EXTRAS = {
    "keras_hub": ("text", "text backbones (BERT-style encoders from KerasHub)"),
    "keras_tuner": ("search", "hyper-parameter search (KerasTuner)"),
    "tf2onnx": ("onnx", "ONNX export"),
    "onnxruntime": ("onnx", "checking ONNX exports"),
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message gives the `pip install` line."""


def require(module: str, feature: str | None = None) -> ModuleType:
    """Imports an optional dependency, or says how to install it.

    Args:
        module: the module to import (e.g. `"keras_hub"`).
        feature: what the caller needs it for (default: the extra's own description).

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module is not installed.

    Example:
        >>> keras_hub = require("keras_hub")
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        extra, purpose = EXTRAS.get(module, (None, module))
        line = f"pip install 'keras-transfer[{extra}]'" if extra else f"pip install {module}"
        raise MissingExtraError(
            f"{feature or purpose} needs the optional package {module!r}, which is not installed ({error}): "
            f"run `{line}`."
        ) from error
