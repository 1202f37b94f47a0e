"""Tiny backbones for tests: real Keras models of a few thousand weights that build and train in seconds.

A test of mechanics (a method's plumbing, a config round trip, resume) needs
a backbone with blocks, BatchNorm and pooled features, not ImageNet quality.
"""

from __future__ import annotations

import keras

from keras_transfer.models.backbones import BackboneSpec, custom_backbone


def tiny_cnn(image_size: int = 32, widths: tuple[int, ...] = (8, 16), seed: int = 0) -> keras.Model:
    """A small CNN feature extractor: per width a conv, BatchNorm, ReLU and pooling block.

    Args:
        image_size: the square input side.
        widths: filters per block (one block each).
        seed: seeds the initialisers, so two builds are identical.

    Returns:
        A `keras.Model` from (size, size, 3) pixels to a feature map; blocks are `block1`, `block2`, ...

    Example:
        >>> tiny_cnn(32).output_shape
        (None, 8, 8, 16)
    """
    inputs = keras.Input((image_size, image_size, 3))
    x = inputs
    for index, width in enumerate(widths, start=1):
        init = keras.initializers.HeNormal(seed=seed + index)
        x = keras.layers.Conv2D(width, 3, padding="same", kernel_initializer=init, name=f"block{index}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{index}_bn")(x)
        x = keras.layers.ReLU(name=f"block{index}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{index}_pool")(x)
    return keras.Model(inputs, x, name="tiny_cnn")


def tiny_backbone(image_size: int = 32, widths: tuple[int, ...] = (8, 16), seed: int = 0) -> BackboneSpec:
    """`tiny_cnn` as a backbone for `build_and_fit` (inputs scaled to [-1, 1], one block per conv).

    Args:
        image_size: the square input side.
        widths: filters per block.
        seed: seeds the initialisers.

    Returns:
        A `BackboneSpec` (`custom_backbone`).

    Example:
        >>> result = build_and_fit((x, y), backbone=tiny_backbone(32), image_size=32, epochs=1)
    """
    model = tiny_cnn(image_size, widths, seed)
    return custom_backbone(model, preprocessing="tf", blocks=[f"block{i}_conv" for i in range(1, len(widths) + 1)],
                           name="tiny_cnn")
