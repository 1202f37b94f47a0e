"""The text classifier: token ids -> KerasHub encoder backbone -> pooling (`features`) -> dropout -> `predictions`.

It has the shape the stage machinery expects of a classifier: the backbone
is the layer named `"backbone"`, the pooled features the layer named
`"features"` (the feature cache trains the layers after it), the output
layer `"predictions"`.
"""

from __future__ import annotations

import keras

from keras_transfer.models.classifier import BACKBONE_LAYER, output_units
from keras_transfer.text.encoders import TextEncoder
from keras_transfer.text.pooling import MEAN, pool

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def build_text_classifier(encoder: TextEncoder, num_classes: int, sequence_length: int, *, dropout: float = 0.1,
                          hidden_units: int | None = None, multi_label: bool = False,
                          fresh_backbone: bool = False) -> keras.Model:
    """Builds the classifier on the encoder's backbone.

    Args:
        encoder: the loaded preset.
        num_classes: classes (labels, for multi-label).
        sequence_length: tokens per text.
        dropout: before the output layer.
        hidden_units: optional hidden Dense layer in the head.
        multi_label: sigmoid outputs (one per label); a binary task has one sigmoid output, as for images.
        fresh_backbone: build on a copy of the backbone (same weights) instead of the encoder's own, so a
            second classifier (a baseline) does not share weights with the first.

    Returns:
        An uncompiled `keras.Model` taking `{"token_ids", "segment_ids", "padding_mask"}` (int32, (B, T)).

    Example:
        >>> model = build_text_classifier(load_encoder(preset), num_classes=2, sequence_length=64)
    """
    backbone = copy_backbone(encoder.backbone) if fresh_backbone else encoder.backbone
    backbone = encoder_trunk(backbone, encoder.pooling)
    inputs = {name: keras.Input((sequence_length,), dtype="int32", name=name) for name in INPUT_NAMES}
    outputs = backbone({name: inputs[name] for name in INPUT_NAMES})
    x = pool(outputs, inputs["padding_mask"], encoder.pooling)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, activation="relu", name="hidden")(x)
    units, activation = output_units(num_classes, multi_label)
    outputs = keras.layers.Dense(units, activation=activation, dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name="text_classifier")


def encoder_trunk(backbone: keras.Model, pooling: str) -> keras.Model:
    """The part of the backbone the pooling reads: without the `[CLS]` pooler when pooling is the masked mean.

    With mean pooling the pooler's Dense is not on the path to the output; leaving it in would keep
    weights in the model that no gradient reaches (and that a stage would still mark trainable).

    Returns:
        The backbone itself (CLS pooling), or a functional model named `"backbone"` over the same layers
        from the inputs to `{"sequence_output"}`.
    """
    if pooling != MEAN:
        return backbone
    return keras.Model(backbone.input, {"sequence_output": backbone.output["sequence_output"]},
                       name=BACKBONE_LAYER)


def copy_backbone(backbone: keras.Model) -> keras.Model:
    """A new backbone of the same class, config and weights."""
    copy = backbone.__class__.from_config(backbone.get_config())
    copy.set_weights(backbone.get_weights())
    return copy
