"""`TextPredictor`: what `keras_transfer.load(folder)` returns for a text export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.optional import require
from keras_transfer.serving.inference import METADATA_FILE, SAVED_MODEL_DIR, SERVING_IMAGES
from keras_transfer.text.sources import texts_of

PREDICT_BATCH = 64


class TextPredictor:
    """Classifies raw texts with a text export.

    Attributes:
        directory: the export folder.
        class_names: output order.
        multi_label: independent labels per text.
        metadata: the contents of `keras_transfer.json`.

    Example:
        >>> predictor = keras_transfer.load("exports/reviews")
        >>> predictor.predict(["a great film"])[0]["class_name"]
        'fresh'
    """

    def __init__(self, directory: str | Path, threshold: float = 0.5):
        require("tensorflow_text", "loading a text export (its tokenizer ops)")
        self.directory = Path(directory)
        self.metadata = json.loads((self.directory / METADATA_FILE).read_text(encoding="utf-8"))
        self.class_names = list(self.metadata["class_names"])
        self.multi_label = bool(self.metadata.get("multi_label", False))
        self.threshold = threshold
        self._saved_model = tf.saved_model.load(str(self.directory / SAVED_MODEL_DIR))
        self._serve = self._saved_model.signatures[SERVING_IMAGES]

    def __repr__(self) -> str:
        return f"TextPredictor({str(self.directory)!r}, classes={self.class_names})"

    def predict_probabilities(self, texts: Any, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """(N, K) probabilities for one text, a list of texts or a tf.data of strings."""
        items = texts_of(texts)
        parts = [self._serve(texts=tf.constant(items[start:start + batch_size]))["probabilities"].numpy()
                 for start in range(0, len(items), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.class_names)), np.float32)

    def predict(self, texts: Any, top_k: int | None = None, batch_size: int = PREDICT_BATCH) -> list[dict]:
        """One dict per text: `input`, `class_name`, `probability`, `top_k` (and `labels` for multi-label).

        Example:
            >>> predictor.predict("dull and tedious")[0]["class_name"]
            'rotten'
        """
        items = texts_of(texts)
        probabilities = self.predict_probabilities(items, batch_size)
        count = min(top_k or len(self.class_names), len(self.class_names))
        results = []
        for text, row in zip(items, probabilities):
            order = np.argsort(-row)[:count]
            result = {"input": text, "class_name": self.class_names[order[0]], "probability": float(row[order[0]]),
                      "top_k": [{"class_name": self.class_names[i], "probability": float(row[i])} for i in order]}
            if self.multi_label:
                result["labels"] = [name for name, p in zip(self.class_names, row) if p >= self.threshold]
            results.append(result)
        return results
