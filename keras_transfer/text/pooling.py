"""Pooling token outputs the way the encoder was trained: masked mean (sentence-transformers) or the CLS pooler.

A sentence-transformers folder says how its embeddings were pooled in
`1_Pooling/config.json` (all-MiniLM-L6-v2: `pooling_mode_mean_tokens`): the
mean of the token outputs over the real (unpadded) tokens. Other presets
(BERT pretrained with next-sentence prediction) use their pooled `[CLS]` output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

MEAN, CLS = "mean", "cls"
POOLING_MODES = (MEAN, CLS)
POOLING_CONFIG = Path("1_Pooling") / "config.json"


def preset_pooling(preset: str | os.PathLike) -> str:
    """How `preset` pools: `"mean"` when its folder's sentence-transformers config says mean tokens, else `"cls"`.

    Args:
        preset: a KerasHub preset name or a local preset folder.

    Returns:
        `"mean"` or `"cls"`.

    Example:
        >>> preset_pooling(minilm_folder)
        'mean'
    """
    config_file = Path(os.fspath(preset)) / POOLING_CONFIG
    if not config_file.is_file():
        return CLS
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("pooling_mode_mean_tokens"):
        return MEAN
    if config.get("pooling_mode_cls_token"):
        return CLS
    modes = sorted(key for key, value in config.items() if key.startswith("pooling_mode") and value)
    raise ValueError(f"{config_file} asks for pooling {modes}, which keras_transfer does not do (it does mean "
                     "tokens and the CLS token): pass pooling='mean' or 'cls'.")


@keras.saving.register_keras_serializable(package="keras_transfer")
class MaskedMeanPooling(keras.layers.Layer):
    """The mean of the token outputs over the tokens the padding mask keeps.

    Call it on `[sequence_output (B, T, D), padding_mask (B, T)]`; returns (B, D).

    Example:
        >>> MaskedMeanPooling()([outputs["sequence_output"], inputs["padding_mask"]])
    """

    def call(self, inputs):
        sequence, mask = inputs
        weights = keras.ops.expand_dims(keras.ops.cast(mask, sequence.dtype), -1)
        total = keras.ops.sum(sequence * weights, axis=1)
        count = keras.ops.maximum(keras.ops.sum(weights, axis=1), 1e-9)
        return total / count

    def compute_output_shape(self, input_shape):
        sequence_shape = input_shape[0]
        return (sequence_shape[0], sequence_shape[-1])


def pool(outputs: dict, padding_mask, mode: str, name: str = "features"):
    """The pooled features of a backbone's outputs (`sequence_output`, `pooled_output`).

    Args:
        outputs: the backbone's output dict.
        padding_mask: the input padding mask.
        mode: `"mean"` or `"cls"`.
        name: the pooled tensor's layer name (the feature cache reads the layer named `features`).

    Returns:
        A (B, D) tensor.
    """
    if mode == MEAN:
        return MaskedMeanPooling(name=name)([outputs["sequence_output"], padding_mask])
    if mode == CLS:
        return keras.layers.Identity(name=name)(outputs["pooled_output"])
    raise ValueError(f"pooling must be one of {POOLING_MODES}, got {mode!r}.")
