"""Texts -> token arrays once (the preset's preprocessor), and the batched datasets the stages train on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_transfer.data.pipeline import label_mode
from keras_transfer.text.model import INPUT_NAMES

TOKENIZE_BATCH = 256


def tokenize(preprocessor, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Token ids, segment ids and padding mask (int32, (N, T)) of every text, computed once.

    Args:
        preprocessor: a KerasHub text-classifier preprocessor (its sequence length fixes T).
        texts: the texts.

    Returns:
        `{"token_ids", "segment_ids", "padding_mask"}` arrays.

    Example:
        >>> arrays = tokenize(encoder.preprocessor(64), ["a great film"])
    """
    parts: dict[str, list] = {name: [] for name in INPUT_NAMES}
    for start in range(0, len(texts), TOKENIZE_BATCH):
        batch = preprocessor(tf.constant([str(text) for text in texts[start:start + TOKENIZE_BATCH]]))
        for name in INPUT_NAMES:
            parts[name].append(np.asarray(batch[name]).astype(np.int32))
    return {name: np.concatenate(values) for name, values in parts.items()}


def model_targets(spec) -> np.ndarray:
    """The labels in the model's format (one-hot, (N, 1) binary, or multi-hot float32), as for images."""
    mode = label_mode(spec)
    labels = np.asarray(spec.labels)
    if mode == "categorical":
        return np.eye(spec.num_classes, dtype=np.float32)[labels.astype(np.int64)]
    if mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    return labels.astype(np.float32)


def token_dataset(arrays: dict[str, np.ndarray], labels: np.ndarray, batch_size: int, *, training: bool = False,
                  seed: int = 0) -> tf.data.Dataset:
    """Batched `(token dict, labels)`; shuffled each epoch when training.

    Example:
        >>> dataset = token_dataset(tokenize(preprocessor, texts), spec.labels, 32, training=True)
    """
    dataset = tf.data.Dataset.from_tensor_slices((dict(arrays), np.asarray(labels)))
    if training:
        dataset = dataset.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def string_dataset(texts: Sequence[str], labels: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Batched `(raw strings, labels)`, for models that tokenize inside (the TF-IDF baseline, the serving model)."""
    return tf.data.Dataset.from_tensor_slices((np.array([str(t) for t in texts], dtype=object),
                                               np.asarray(labels))).batch(batch_size)
