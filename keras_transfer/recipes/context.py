"""`RunContext`: everything a transfer method may read, prepared once by the recipe and shared.

The recipe loads the data, resolves the backbone, the plan and the precision,
builds the pretrained classifier and the datasets, and hands this object to
every method it runs (the main one and the baselines), so they train on the
same split, decode each image once and extract the frozen features once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from keras_transfer.data.sources import DataSpec, load_data
from keras_transfer.log import Log
from keras_transfer.models.backbones import BackboneSpec
from keras_transfer.models.classifier import build_model
from keras_transfer.recipes.config import FitConfig
from keras_transfer.train import Stage, loss_and_metrics
from keras_transfer.train.feature_cache import extract_features
from keras_transfer.train.precision import dtype_policy


@dataclass
class RunContext:
    """One run's prepared parts.

    Attributes:
        config: the resolved `FitConfig` (stages, image size, monitor, precision as they will be used).
        train_spec, validation_spec: the labelled data (validation may be None).
        extra_specs: extra data sets a method declared (`extra_data`), loaded like the training data.
        backbone: the backbone's registry entry.
        image_size: (height, width).
        plan: the stage plan.
        augmentation: the resolved `Augmentation` (or None).
        class_weight: per-class loss weights (or None).
        policy: the Keras dtype policy the models are built under.
        log: the run's logger.
        model: the classifier built with the run's weights, before any training.
        train_images, validation_images: the decoded-image caches.
        train_dataset, validation_dataset: batched datasets (training one augmented).
        timings: wall seconds per step, filled by the recipe and the methods.
        ranking: the backbone ranking of a `backbone="auto"` run (a `RankingTable`), else None.
        write_dir: where this process writes the run's files: `output_dir` itself, except on the workers of a
            multi-worker run that are not the chief (a temporary folder; see `distributed.chief_only`).
        feature_store: shares frozen features between runs (a search's `SharedFeatures`), or None.
    """

    config: FitConfig
    train_spec: DataSpec
    validation_spec: DataSpec | None
    backbone: BackboneSpec
    image_size: tuple[int, int]
    plan: list[Stage]
    augmentation: Any
    class_weight: dict | None
    policy: str
    log: Log
    model: keras.Model | None = None
    train_images: Any = None
    validation_images: Any = None
    train_dataset: Any = None
    validation_dataset: Any = None
    extra_specs: dict[str, DataSpec] = field(default_factory=dict)
    ranking: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    write_dir: str | None = None
    feature_store: Any = None
    _features: tuple | None = field(default=None, repr=False)

    # --- facts -------------------------------------------------------------------------------------

    @property
    def pretrained(self) -> bool:
        """Whether the backbone starts from pretrained weights."""
        return self.config.model.weights is not None

    monitor = property(lambda self: self.config.training.monitor, doc="What early stopping watches.")
    seed = property(lambda self: self.config.runtime.seed, doc="The run's seed.")
    batch_size = property(lambda self: self.config.training.batch_size, doc="Images per step.")
    verbose = property(lambda self: self.config.runtime.verbose, doc="0 silent, 1 progress.")
    strategy = property(lambda self: self.config.runtime.strategy, doc="The tf.distribute strategy, or None.")

    # --- building ----------------------------------------------------------------------------------

    def scope(self):
        """The strategy's scope (or none) and the run's dtype policy, for building models."""
        stack = contextlib.ExitStack()
        if self.strategy is not None:
            stack.enter_context(self.strategy.scope())
        stack.enter_context(dtype_policy(self.policy))
        return stack

    def build_classifier(self, weights: str | None | bool = True) -> keras.Model:
        """A new classifier of this run's shape.

        Args:
            weights: True for the run's weights, None for random ones (from scratch), or a weights value.

        Returns:
            An uncompiled `keras.Model`.
        """
        model_config = self.config.model
        chosen = model_config.weights if weights is True else weights
        with self.scope():
            return build_model(self.backbone, self.train_spec.num_classes, weights=chosen,
                               image_size=self.image_size, dropout=model_config.dropout,
                               hidden_units=model_config.hidden_units, multi_label=self.train_spec.multi_label)

    def loss_and_metrics(self):
        """A fresh loss and fresh metric objects for this task (each compiled model needs its own metrics)."""
        return loss_and_metrics(self.train_spec, self.config.training.label_smoothing)

    def compile(self, model: keras.Model, optimizer: Any = None) -> keras.Model:
        """Compiles `model` with the run's loss, metrics and compile options.

        Args:
            model: the model.
            optimizer: default AdamW (the stage plan gives each stage its own anyway).

        Returns:
            The model.
        """
        loss, metrics = self.loss_and_metrics()
        runtime = self.config.runtime
        with self.strategy.scope() if self.strategy is not None else contextlib.nullcontext():
            model.compile(optimizer=optimizer or keras.optimizers.AdamW(), loss=loss, metrics=metrics,
                          jit_compile=runtime.jit_compile, steps_per_execution=runtime.steps_per_execution)
        return model

    def load_extra(self, option: str, validation_split: float = 0.0) -> DataSpec:
        """Loads a data set a method declared in `extra_data` (e.g. `target_data`), like the training data.

        The run's scan and CSV settings and its class names apply, so the
        labels (where the data has any) mean the same classes.

        Args:
            option: the config option holding the data.
            validation_split: share held out (0: none).

        Returns:
            The `DataSpec` (cached: a second call returns the same).
        """
        if option not in self.extra_specs:
            data = self.config.data
            spec, _ = load_data(self.config.get(option), validation_split=validation_split, seed=self.seed,
                                class_names=self.train_spec.class_names, path_column=data.path_column,
                                label_column=data.label_column, label_delimiter=data.label_delimiter,
                                scan=data.scan, strict=data.strict, max_pixels=data.max_pixels)
            self.extra_specs[option] = spec
        return self.extra_specs[option]

    # --- shared work -------------------------------------------------------------------------------

    def features(self, views: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple | None]:
        """The pretrained model's pooled features of the training and validation images, computed once.

        Args:
            views: augmented views of each training image to add after the
                clean ones (the first `len(train_spec)` rows are always the
                clean images). A later call asking for no more views reuses them.

        Returns:
            `((train features, labels), (validation features, labels) or None)`.
        """
        if self._features is None or self._features[0] < views:
            if self.feature_store is not None:
                self._features = self.feature_store.features(self, views, self._extract_features)
            else:
                self._features = self._extract_features(views)
        return self._features[1], self._features[2]

    def _extract_features(self, views: int) -> tuple:
        """`(views, (train features, labels), (validation features, labels) or None)` from the untrained model."""
        source = self.model
        config = self.config
        train = extract_features(source, self.train_spec, self.image_size, config.training.batch_size,
                                 augmentation=self.augmentation, views=views, seed=self.seed,
                                 decoded=self.train_images)
        validation = (extract_features(source, self.validation_spec, self.image_size,
                                       config.training.batch_size, decoded=self.validation_images)
                      if self.validation_spec is not None else None)
        return views, train, validation

    def clean_features(self) -> tuple[np.ndarray, np.ndarray]:
        """The training features of the clean images only (no augmented views)."""
        (features, labels), _ = self.features()
        count = len(self.train_spec)
        return features[:count], labels[:count]

    def score(self, model: keras.Model) -> dict[str, float]:
        """Validation metrics of `model` (compiled here if it is not), or {} without validation data."""
        if self.validation_dataset is None:
            return {}
        if getattr(model, "compiled", False) is False or getattr(model, "loss", None) is None:
            loss, metrics = self.loss_and_metrics()
            model.compile(loss=loss, metrics=metrics)
        values = model.evaluate(self.validation_dataset, verbose=0, return_dict=True)
        return {key: float(value) for key, value in values.items()}
