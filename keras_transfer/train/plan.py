"""Running a whole stage plan on a compiled model with one `model.fit` call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import tensorflow as tf

from keras_transfer.models.backbones import Block
from keras_transfer.train.callbacks.precise_bn import PreciseBatchNorm
from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze
from keras_transfer.train.stages import Stage


def run_plan(
    model: keras.Model,
    stages: Sequence[Stage],
    blocks: Sequence[Block] | None,
    train_ds,
    val_ds,
    *,
    monitor: str = "val_loss",
    freeze_batchnorm: bool = True,
    class_weight: Mapping | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
    previous_best: tuple[str, float] | None = None,
    initial_epoch: int = 0,
    before_fit: Callable[[StagedUnfreeze], Sequence[keras.callbacks.Callback]] | None = None,
    precise_batchnorm: bool | None = None,
    classifier: keras.Model | None = None,
) -> StagedUnfreeze:
    """Runs a stage plan on a compiled model with one `model.fit` call.

    Args:
        model: a compiled model.
        stages: the plan.
        blocks: the backbone's blocks (None: found from the model).
        train_ds, val_ds: batched datasets (val_ds may be None).
        monitor: what each stage's early stopping watches (`val_` dropped without validation data).
        freeze_batchnorm: keep the backbone's BatchNorm frozen (pretrained backbones).
        class_weight: per-class loss weights.
        callbacks: extra callbacks.
        verbose: Keras' verbosity.
        previous_best: see `StagedUnfreeze`.
        initial_epoch: the epoch to start at (when resuming).
        before_fit: called with the callback before training; returns more
            callbacks to run after it (e.g. the resume checkpoint).
        precise_batchnorm: recompute the statistics of BatchNorm layers that
            train before each validation and at the end (`PreciseBatchNorm`);
            default: whenever BatchNorm trains (`freeze_batchnorm=False`).
        classifier: the classifier inside `model` when `model` is a training
            wrapper around it (see `StagedUnfreeze`); default: `model` itself.

    Returns:
        The `StagedUnfreeze` callback, with `stage_history` and `kept_stage`.

    Example:
        >>> staged = run_plan(model, default_stages(pretrained=True), None, train_ds, val_ds)
        >>> staged.kept_stage
        'all'
    """
    if val_ds is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    staged = StagedUnfreeze(stages, blocks=blocks, monitor=monitor, freeze_batchnorm=freeze_batchnorm,
                            verbose=verbose, previous_best=previous_best, classifier=classifier)
    after = list(before_fit(staged)) if before_fit is not None else []
    if precise_batchnorm if precise_batchnorm is not None else not freeze_batchnorm:
        after.insert(0, PreciseBatchNorm(train_ds))
    # The datasets arrive shuffled (and batched): `shuffle=False` says so, instead of Keras warning that its
    # default `shuffle=True` is ignored for a tf.data.Dataset.
    model.fit(train_ds, validation_data=val_ds, epochs=staged.total_epochs, shuffle=not _is_dataset(train_ds),
              initial_epoch=initial_epoch, callbacks=[staged, *after, *callbacks], class_weight=class_weight,
              verbose=verbose)
    return staged


def _is_dataset(data) -> bool:
    return isinstance(data, tf.data.Dataset)
