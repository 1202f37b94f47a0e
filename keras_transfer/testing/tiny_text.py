"""A tiny text encoder preset and a tiny labelled text set, for fast tests of the text path.

`tiny_text_preset(folder)` writes a randomly initialised two-layer KerasHub
`BertBackbone` (hidden size 16) and a word-piece tokenizer over a few dozen
words as a KerasHub preset folder, so tests go through `load_encoder` like a
real preset, in about a second.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from keras_transfer.optional import require
from keras_transfer.text.pooling import POOLING_CONFIG

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ["great", "wonderful", "moving", "brilliant", "funny", "charming", "superb", "fresh"]
NEGATIVE = ["dull", "boring", "awful", "tedious", "bland", "clumsy", "weak", "stale"]
NEUTRAL = ["the", "film", "movie", "was", "a", "story", "plot", "acting", "and", "very", "is", "it", "this",
           "quite", "really", "cast"]
VOCABULARY = SPECIAL + POSITIVE + NEGATIVE + NEUTRAL


def tiny_text_preset(folder: str | os.PathLike, *, num_layers: int = 2, hidden_dim: int = 16,
                     pooling: str = "mean", seed: int = 0) -> Path:
    """Writes a tiny random BERT encoder preset (backbone + tokenizer) to `folder`.

    Args:
        folder: where to write it (created).
        num_layers: transformer layers.
        hidden_dim: the hidden size (2 heads).
        pooling: `"mean"` writes a sentence-transformers `1_Pooling/config.json` asking for mean tokens;
            `"cls"` writes none (the backbone's pooled output is used).
        seed: the initialisation seed.

    Returns:
        The folder.

    Example:
        >>> preset = tiny_text_preset(tmp_path / "tiny_bert")
        >>> load_encoder(preset).pooling
        'mean'
    """
    keras = require("keras")
    keras_hub = require("keras_hub", "the tiny text preset")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(VOCABULARY), num_layers=num_layers, num_heads=2,
                                             hidden_dim=hidden_dim, intermediate_dim=2 * hidden_dim,
                                             max_sequence_length=64, dropout=0.0)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=VOCABULARY, lowercase=True)
    backbone.save_to_preset(str(folder))
    tokenizer.save_to_preset(str(folder))
    keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16).save_to_preset(str(folder))
    if pooling == "mean":
        (folder / POOLING_CONFIG).parent.mkdir(exist_ok=True)
        (folder / POOLING_CONFIG).write_text(json.dumps({"pooling_mode_mean_tokens": True}), encoding="utf-8")
    return folder


def tiny_reviews(count: int = 48, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short review-like texts, half `fresh` (positive words) and half `rotten` (negative words).

    Returns:
        `(texts, labels)`.

    Example:
        >>> texts, labels = tiny_reviews(8)
    """
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for index in range(count):
        label = "fresh" if index % 2 == 0 else "rotten"
        words = list(rng.choice(NEUTRAL, size=int(rng.integers(3, 9))))
        cue = POSITIVE if label == "fresh" else NEGATIVE
        for _ in range(int(rng.integers(1, 3))):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(cue)))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels
