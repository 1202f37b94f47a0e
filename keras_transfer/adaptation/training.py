"""Trains a classifier under an alignment term, with a target batch beside each source batch.

Two steps, each one function for the adapted run and its source-only twin
alike (`adaptation=None`): the same network, optimiser, steps and seed, so the
only difference between the two is the alignment term.

- `fit_adapted_head`: the bottleneck and head on cached pooled features (the
  backbone frozen), the alignment weight warmed up as DANN does.
- `fit_adapted_stages`: then the plan's stages that train backbone blocks, on
  images through the whole classifier (`StagedUnfreeze`: each stage's blocks,
  learning rate, early stopping and best-stage rule, as for any fine-tuning
  run), the alignment at its full weight.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.adapted_model import (
    AdaptedHead,
    WarmUp,
    bottleneck_head,
    bottleneck_network,
    paired_dataset,
)
from keras_transfer.models.backbones import Block
from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze
from keras_transfer.train.plan import run_plan
from keras_transfer.train.stages import Stage


def fit_adapted_head(
    classifier: keras.Model,
    source: tuple[np.ndarray, np.ndarray],
    target_features: np.ndarray,
    adaptation: str | None,
    *,
    loss,
    metrics: list,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = 20,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    loss_weight: float = 1.0,
    warmup_gamma: float | None = 10.0,
    seed: int = 0,
    verbose: int = 0,
    domain_head: keras.Model | None = None,
) -> dict:
    """Trains `classifier`'s bottleneck and head layers in place (its backbone is not touched).

    Args:
        classifier: a `build_model` classifier with `hidden_units` (the bottleneck).
        source: `(pooled features, labels in the model's format)` of the labelled source.
        target_features: pooled features of the unlabeled target images.
        adaptation: "dann", "coral", "mmd", "mcc", or None for source only.
        loss, metrics: the classification loss and fresh metrics.
        validation: source validation `(features, labels)`, scored after each epoch (monitored, not used to stop).
        epochs: passes over the source.
        learning_rate: AdamW's learning rate.
        batch_size: rows of each side per step.
        loss_weight: weight of the alignment (or domain) loss.
        warmup_gamma: the DANN warm-up speed of the scheduled weight (None: constant 1).
        seed: seeds the shuffling and the domain head.
        verbose: Keras' verbosity.
        domain_head: DANN's domain head (default: a new one); pass the same one to `fit_adapted_stages`.

    Returns:
        The record: name, epochs, the settings, and per-epoch metrics (`metrics`) as Keras logs them.

    Example:
        >>> record = fit_adapted_head(classifier, (xs, ys), xt, "coral", loss=loss, metrics=["accuracy"])
    """
    keras.utils.set_random_seed(seed)
    adapted = AdaptedHead(bottleneck_head(classifier), adaptation, loss_weight=loss_weight, seed=seed,
                          domain_head=domain_head)
    dataset, steps = paired_dataset(source[0], source[1], target_features, batch_size, seed=seed)
    adapted.compile(optimizer=keras.optimizers.AdamW(learning_rate), loss=loss, metrics=metrics)
    history = adapted.fit(dataset, epochs=epochs, steps_per_epoch=steps, validation_data=validation,
                          callbacks=[WarmUp(epochs * steps, warmup_gamma)], shuffle=False, verbose=verbose)
    return {"name": f"adapt_{adaptation}" if adaptation else "source_only", "adaptation": adaptation,
            "epochs_run": epochs, "first_epoch": 0, "train_blocks": 0, "learning_rate": learning_rate,
            "loss_weight": loss_weight, "warmup_gamma": warmup_gamma,
            "metrics": {key: [float(value) for value in values] for key, values in history.history.items()}}


def fit_adapted_stages(
    classifier: keras.Model,
    stages: Sequence[Stage],
    blocks: Sequence[Block],
    source: tf.data.Dataset,
    target: tf.data.Dataset,
    adaptation: str | None,
    *,
    loss,
    metrics: list,
    validation: tf.data.Dataset | None = None,
    monitor: str = "val_loss",
    loss_weight: float = 1.0,
    freeze_batchnorm: bool = True,
    previous_best: tuple[str, float] | None = None,
    seed: int = 0,
    verbose: int = 0,
    domain_head: keras.Model | None = None,
) -> StagedUnfreeze:
    """Runs stages that train backbone blocks of `classifier` on images, under the alignment term, in place.

    Args:
        classifier: a `build_model` classifier with `hidden_units` (its bottleneck and head already trained,
            usually by `fit_adapted_head`).
        stages: the stages to run (those of the plan with `train_blocks` > 0).
        blocks: the backbone's blocks (`BackboneSpec.blocks`).
        source: batched `(pixels, labels)` of the labelled source (shuffled, augmented: the run's training data);
            an epoch is one pass over it.
        target: batched pixels of the unlabeled target (repeated here as needed).
        adaptation: "dann", "coral", "mmd", "mcc", or None for source only.
        loss, metrics: the classification loss and fresh metrics.
        validation: batched source validation `(pixels, labels)`, which each stage's early stopping watches.
        monitor: the metric watched (`val_` dropped without validation data).
        loss_weight: weight of the alignment (or domain) loss, at its full value (no warm-up here).
        freeze_batchnorm: keep the backbone's BatchNorm layers in inference mode (pretrained backbones).
        previous_best: `(name, monitored value)` of the head stage: kept if no stage beats it.
        seed: seeds the domain head, if one is made here.
        verbose: Keras' verbosity.
        domain_head: DANN's domain head to go on training (the head stage's).

    Returns:
        The `StagedUnfreeze` callback: `stage_history`, `kept_stage`, `warnings`.

    Example:
        >>> staged = fit_adapted_stages(classifier, plan[1:], spec.blocks(backbone), train_ds, target_ds, "mmd",
        ...                             loss=loss, metrics=["accuracy"], validation=val_ds)
    """
    keras.utils.set_random_seed(seed)
    adapted = AdaptedHead(bottleneck_network(classifier), adaptation, loss_weight=loss_weight, seed=seed,
                          domain_head=domain_head)
    adapted.set_warmup(1.0)
    adapted.compile(optimizer=keras.optimizers.AdamW(), loss=loss, metrics=metrics)
    pairs = tf.data.Dataset.zip((source, target.repeat())).prefetch(2)
    return run_plan(adapted, stages, blocks, pairs, validation, monitor=monitor, freeze_batchnorm=freeze_batchnorm,
                    verbose=verbose, previous_best=previous_best, classifier=classifier)
