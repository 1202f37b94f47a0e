"""Trains a classifier's bottleneck and head on cached features, with a target batch beside each source batch.

One function, `fit_adapted_head`, for the adapted run and its source-only
twin alike (`adaptation=None`): the same network, optimiser, steps and seed,
so the only difference between the two is the alignment term.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_transfer.adaptation.adapted_model import AdaptedHead, WarmUp, bottleneck_head, paired_dataset


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
) -> dict:
    """Trains `classifier`'s bottleneck and head layers in place (its backbone is not touched).

    Args:
        classifier: a `build_model` classifier with `hidden_units` (the bottleneck).
        source: `(pooled features, labels in the model's format)` of the labelled source.
        target_features: pooled features of the unlabeled target images.
        adaptation: "dann", "coral", "mmd", or None for source only.
        loss, metrics: the classification loss and fresh metrics.
        validation: source validation `(features, labels)`, scored after each epoch (monitored, not used to stop).
        epochs: passes over the source.
        learning_rate: AdamW's learning rate.
        batch_size: rows of each side per step.
        loss_weight: weight of the alignment (or domain) loss.
        warmup_gamma: the DANN warm-up speed of the scheduled weight (None: constant 1).
        seed: seeds the shuffling and the domain head.
        verbose: Keras' verbosity.

    Returns:
        The record: name, epochs, the settings, and per-epoch metrics (`metrics`) as Keras logs them.

    Example:
        >>> record = fit_adapted_head(classifier, (xs, ys), xt, "coral", loss=loss, metrics=["accuracy"])
    """
    keras.utils.set_random_seed(seed)
    adapted = AdaptedHead(bottleneck_head(classifier), adaptation, loss_weight=loss_weight, seed=seed)
    dataset, steps = paired_dataset(source[0], source[1], target_features, batch_size, seed=seed)
    adapted.compile(optimizer=keras.optimizers.AdamW(learning_rate), loss=loss, metrics=metrics)
    history = adapted.fit(dataset, epochs=epochs, steps_per_epoch=steps, validation_data=validation,
                          callbacks=[WarmUp(epochs * steps, warmup_gamma)], shuffle=False, verbose=verbose)
    return {"name": f"adapt_{adaptation}" if adaptation else "source_only", "adaptation": adaptation,
            "epochs_run": epochs, "first_epoch": 0, "train_blocks": 0, "learning_rate": learning_rate,
            "loss_weight": loss_weight, "warmup_gamma": warmup_gamma,
            "metrics": {key: [float(value) for value in values] for key, values in history.history.items()}}
