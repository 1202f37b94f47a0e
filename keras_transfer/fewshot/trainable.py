"""Which backbone blocks train while a few-shot model adapts (meta-training, per-episode fine-tuning)."""

from __future__ import annotations

from typing import Any

import keras

from keras_transfer.models.classifier import batchnorm_layers, get_backbone_layer, model_blocks
from keras_transfer.train.stages import select_blocks


def set_trainable_blocks(model: keras.Model, train_blocks: Any) -> list[str]:
    """Makes exactly the chosen backbone blocks trainable, with every BatchNorm layer frozen.

    Layers outside the backbone are left as they are.

    Args:
        model: a classifier with a `"backbone"` layer (from `build_model`, or a prototype classifier).
        train_blocks: as `Stage.train_blocks` reads it: a count of top blocks (0: none), a share, `"all"`,
            or block names.

    Returns:
        The names of the blocks that train ([] for a model without a backbone layer).

    Example:
        >>> set_trainable_blocks(model, 2)
        ['block_12', 'block_13']
    """
    backbone = get_backbone_layer(model)
    if backbone is None:
        return []
    chosen = select_blocks(model_blocks(model), train_blocks)
    backbone.trainable = bool(chosen)
    trained = {id(layer) for block in chosen for layer in block.layers}
    for layer in backbone.layers:
        layer.trainable = id(layer) in trained
    for layer in batchnorm_layers(backbone):
        layer.trainable = False
    return [block.name for block in chosen]
