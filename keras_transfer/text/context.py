"""`TextRunContext`: the `RunContext` of a text run (token arrays instead of decoded images).

Everything the stage machinery and `fine_tune` read keeps its meaning:
`model` is the classifier on the preset's backbone, `backbone` an entry
whose `blocks()` are the encoder's stage blocks, `train_dataset` /
`validation_dataset` batched token dicts, `features()` the pooled features
of the untrained model (the head stage trains on them). Models that read
raw strings (the TF-IDF baseline) are scored on the raw validation texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from keras_transfer.recipes.context import RunContext
from keras_transfer.text.inputs import model_targets, string_dataset, token_dataset
from keras_transfer.text.model import build_text_classifier

FEATURE_BATCH = 64


@dataclass
class TextRunContext(RunContext):
    """A `RunContext` for texts.

    Attributes:
        encoder: the loaded `TextEncoder`.
        preprocessor: its text-classifier preprocessor at the run's sequence length.
        train_tokens, validation_tokens: `tokenize()` arrays of each split.
        text_checks: what `check_texts` found.
    """

    encoder: Any = None
    preprocessor: Any = None
    train_tokens: dict = field(default_factory=dict)
    validation_tokens: dict | None = None
    text_checks: dict = field(default_factory=dict)

    @property
    def sequence_length(self) -> int:
        """Tokens per text."""
        return int(self.image_size[0])

    def build_classifier(self, weights: str | None | bool = True) -> keras.Model:
        """A classifier of this run's shape; the first one is built on the encoder's backbone, later ones on a copy.

        Args:
            weights: True (the run's backbone weights as loaded; None raises: see the TF-IDF baseline).

        Returns:
            An uncompiled `keras.Model` on token dicts.
        """
        if weights is None:
            raise ValueError("A text run has no from-scratch classifier: its plain alternative is the TF-IDF + "
                             "logistic regression baseline (baselines=['tfidf']); weights=None loads the preset "
                             "with random weights for the whole run.")
        model_config = self.config.model
        with self.scope():
            model = build_text_classifier(self.encoder, self.train_spec.num_classes, self.sequence_length,
                                          dropout=model_config.dropout, hidden_units=model_config.hidden_units,
                                          multi_label=self.train_spec.multi_label,
                                          fresh_backbone=self.model is not None)
        return model

    def make_datasets(self) -> None:
        """The batched token datasets of both splits (training shuffled each epoch)."""
        self.train_dataset = token_dataset(self.train_tokens, model_targets(self.train_spec), self.batch_size,
                                           training=True, seed=self.seed)
        if self.validation_tokens is not None:
            self.validation_dataset = token_dataset(self.validation_tokens, model_targets(self.validation_spec),
                                                    self.batch_size)

    def features(self, views: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple | None]:
        """The untrained classifier's pooled features of the training and validation texts, computed once.

        Args:
            views: ignored (texts have no augmented views).

        Returns:
            `((train features, labels), (validation features, labels) or None)`.
        """
        if self._features is None:
            from keras_transfer.train.feature_cache import feature_model

            extractor = feature_model(self.model)
            train = (extractor.predict(self.train_tokens, batch_size=FEATURE_BATCH, verbose=0).astype(np.float32),
                     model_targets(self.train_spec))
            validation = None
            if self.validation_tokens is not None:
                validation = (extractor.predict(self.validation_tokens, batch_size=FEATURE_BATCH,
                                                verbose=0).astype(np.float32),
                              model_targets(self.validation_spec))
            self._features = (0, train, validation)
        return self._features[1], self._features[2]

    def score(self, model: keras.Model) -> dict[str, float]:
        """Validation metrics of `model`: on token dicts, or on the raw texts for a model that reads strings."""
        if self.validation_spec is None:
            return {}
        if not reads_strings(model):
            return super().score(model)
        loss, metrics = self.loss_and_metrics()
        model.compile(loss=loss, metrics=metrics)
        dataset = string_dataset(self.validation_spec.texts, model_targets(self.validation_spec), self.batch_size)
        values = model.evaluate(dataset, verbose=0, return_dict=True)
        return {key: float(value) for key, value in values.items()}


def reads_strings(model: keras.Model) -> bool:
    """Whether `model` takes raw strings (one string input) rather than token dicts."""
    inputs = model.inputs
    return len(inputs) == 1 and str(inputs[0].dtype) == "string"
