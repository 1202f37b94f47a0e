"""The stage blocks of a BERT-style KerasHub backbone: the embeddings, each transformer layer in order, the pooler.

Each block holds its top-level backbone layers followed by their nested
layers (a transformer layer's attention and feed-forward Dense/EinsumDense
layers), so staged unfreezing sets exactly those trainable and a LoRA stage
finds the layers Keras' `enable_lora` adapts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras

from keras_transfer.models.backbones import Block

EMBEDDINGS, POOLER = "embeddings", "pooler"


def text_blocks(backbone: keras.Model) -> list[Block]:
    """Cuts a KerasHub encoder backbone into ordered blocks for staged unfreezing.

    Inputs and embedding layers (and everything before the first transformer
    layer) form `"embeddings"`; each `transformer_layer_i` is its own block;
    the layers after the last one (BERT's `pooled_dense`) form `"pooler"`.

    Args:
        backbone: a KerasHub backbone whose transformer layers are named `transformer_layer_<i>`.

    Returns:
        The blocks, bottom first; every top-level layer of the backbone is in exactly one, in order.

    Raises:
        ValueError: the backbone has no layer named `transformer_layer_<i>`.

    Example:
        >>> [block.name for block in text_blocks(bert)]
        ['embeddings', 'transformer_layer_0', 'transformer_layer_1', 'pooler']
    """
    layers = list(backbone.layers)
    transformer = [index for index, layer in enumerate(layers) if layer.name.startswith("transformer_layer_")]
    if not transformer:
        raise ValueError(f"Backbone {backbone.name!r} has no layers named transformer_layer_<i> (its layers: "
                         f"{[layer.name for layer in layers][:12]}): keras_transfer's text path cuts KerasHub "
                         "encoder backbones (BERT, DistilBERT, RoBERTa, ...) into blocks.")
    first, last = transformer[0], transformer[-1]
    groups = [(EMBEDDINGS, layers[:first])]
    groups += [(layers[index].name, [layers[index]]) for index in range(first, last + 1)]
    if layers[last + 1:]:
        groups.append((POOLER, layers[last + 1:]))
    return [Block(name, tuple(_with_nested(members))) for name, members in groups if members]


def _with_nested(layers: Sequence[keras.layers.Layer]) -> list[keras.layers.Layer]:
    """Each layer followed by its nested layers (parents first, so setting `trainable` in order is exact)."""
    return [nested for layer in layers for nested in layer._flatten_layers(include_self=True, recursive=True)]


@dataclass(frozen=True)
class TextBackboneSpec:
    """What the stage machinery asks of a backbone entry (`name`, `blocks(layer)`), for a text encoder.

    Attributes:
        name: the preset name or folder.
        keras_name: the backbone class (shown in summaries and reports).
        pooling: `"mean"` or `"cls"`.
        sequence_length: the tokens per text the model reads.
    """

    name: str
    keras_name: str
    pooling: str
    sequence_length: int

    def blocks(self, backbone: keras.Model) -> list[Block]:
        """See `text_blocks` (a mean-pooled classifier's backbone has no pooler: `encoder_trunk`)."""
        return text_blocks(backbone)
