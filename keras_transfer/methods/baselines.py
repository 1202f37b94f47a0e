"""Honest baselines for a fine-tuned model: a linear probe and the same network trained from scratch.

Both train on the same split as the fine-tuned model and are scored on the
same validation data with the same loss and metrics, so `build_and_fit` can
warn about negative transfer and keep the better model.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from keras_transfer.models.classifier import build_model, output_units
from keras_transfer.train import default_stages, run_plan
from keras_transfer.train.feature_cache import feature_model

BASELINES = ("linear_probe", "scratch")


def probe_weights(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    multi_label: bool = False,
    regularization: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression on features, as the kernel and bias of the classifier's output layer.

    The regression (scikit-learn, L2, on standardised features) is folded back
    to raw features, so `softmax(features @ kernel + bias)` (or the sigmoid,
    for one output or multi-label) gives its probabilities.

    Args:
        features: (N, D) pooled backbone features.
        labels: one-hot (N, K), binary (N, 1) or multi-hot (N, K), as `extract_features` returns them.
        multi_label: one regression per label.
        regularization: scikit-learn's `C` (inverse L2 strength).
        seed: the solver's seed.

    Returns:
        `(kernel (D, units) float32, bias (units,) float32)`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    units, _ = output_units(labels.shape[1] if labels.ndim == 2 and labels.shape[1] > 1 else 2, multi_label)

    def regression(target):
        return LogisticRegression(C=regularization, max_iter=2000, random_state=seed).fit(scaled, target)

    if units == 1 or multi_label:  # independent sigmoids, one regression per output
        columns = labels.reshape(len(labels), -1)
        coef = np.zeros((columns.shape[1], features.shape[1]))
        intercept = np.zeros(columns.shape[1])
        for column in range(columns.shape[1]):
            target = columns[:, column] > 0.5
            if target.all() or not target.any():
                intercept[column] = 20.0 if target.all() else -20.0
                continue
            fitted = regression(target)
            coef[column], intercept[column] = fitted.coef_[0], fitted.intercept_[0]
    else:
        fitted = regression(labels.argmax(axis=1))
        coef = np.zeros((units, features.shape[1]))
        intercept = np.full(units, -20.0)  # a class absent from training is never predicted
        if len(fitted.classes_) > 2:
            coef[fitted.classes_], intercept[fitted.classes_] = fitted.coef_, fitted.intercept_
        else:  # two classes present: a sigmoid, written as a two-way softmax
            coef[fitted.classes_] = np.stack([-fitted.coef_[0], fitted.coef_[0]]) / 2
            intercept[fitted.classes_] = np.array([-fitted.intercept_[0], fitted.intercept_[0]]) / 2
    # Fold the standardisation into the layer: (f - mean) / scale @ W + b.
    kernel = (coef / scaler.scale_).T
    bias = intercept - (scaler.mean_ / scaler.scale_) @ coef.T
    return kernel.astype(np.float32), bias.astype(np.float32)


def linear_probe(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    *,
    multi_label: bool = False,
    regularization: float = 1.0,
    seed: int = 0,
) -> keras.Model:
    """Logistic regression on frozen backbone features, as a Keras model.

    The regression is a Dense layer on top of a copy of `model`'s backbone, so
    the probe predicts, evaluates and exports like any classifier.

    Args:
        model: a `build_model` classifier whose backbone still has its pretrained weights.
        train: `(features, labels)` from `extract_features` (labels one-hot, (N, 1) binary or multi-hot).
        multi_label: one regression per label.
        regularization: scikit-learn's `C` (inverse L2 strength).
        seed: the solver's seed.

    Returns:
        An uncompiled `keras.Model` (pixels → probabilities) named like `model`.

    Example:
        >>> features, labels = extract_features(model, train_spec, (224, 224))
        >>> probe = linear_probe(model, (features, labels))
    """
    kernel, bias = probe_weights(*train, multi_label=multi_label, regularization=regularization, seed=seed)
    units, activation = output_units(kernel.shape[1] if kernel.shape[1] > 1 else 2, multi_label)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    outputs = keras.layers.Dense(units, activation=activation, dtype="float32", name="predictions")(
        feature_model(copy).output)
    probe = keras.Model(copy.inputs, outputs, name=model.name)
    probe.get_layer("predictions").set_weights([kernel, bias])
    return probe


def scratch_baseline(
    backbone,
    num_classes: int,
    image_size: tuple[int, int],
    epochs: int,
    train_ds,
    val_ds,
    *,
    loss,
    metrics: Sequence,
    multi_label: bool = False,
    dropout: float = 0.2,
    hidden_units: int | None = None,
    class_weight=None,
    monitor: str = "val_loss",
    verbose: int = 0,
) -> tuple[keras.Model, list[dict]]:
    """The same architecture trained from random weights on the same data and epoch budget.

    Returns:
        `(model, stage history)`.
    """
    model = build_model(backbone, num_classes, weights=None, image_size=image_size, dropout=dropout,
                        hidden_units=hidden_units, multi_label=multi_label)
    model.compile(optimizer=keras.optimizers.AdamW(), loss=loss, metrics=list(metrics))
    staged = run_plan(model, default_stages(pretrained=False, epochs=epochs), None, train_ds, val_ds,
                      monitor=monitor, freeze_batchnorm=False, class_weight=class_weight, verbose=verbose)
    return model, staged.stage_history

