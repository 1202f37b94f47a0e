"""Cached backbone features: frozen stages train the head on features computed once.

While the backbone is frozen, every epoch of `model.fit` pushes every image
through it again for the same features. Here they are computed once (optionally
with K augmented views) and the model's own head layers are trained on them,
then the unfrozen stages continue with that head.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.data.augmentation import Augmentation
from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.sources import DataSpec
from keras_transfer.metric_direction import higher_is_better, is_improvement
from keras_transfer.train.optimizers import make_optimizer
from keras_transfer.train.stages import Stage

FEATURE_LAYER = "avg_pool"


def feature_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer whose output the head reads: the pooling, or `features` when the backbone gives (B, D) already."""
    names = {layer.name for layer in model.layers}
    return model.get_layer(FEATURE_LAYER if FEATURE_LAYER in names else "features")


def feature_model(model: keras.Model) -> keras.Model:
    """The part of a `build_model` classifier from pixels to pooled backbone features."""
    return keras.Model(model.inputs, feature_layer(model).output, name="features")


def head_model(model: keras.Model) -> keras.Model:
    """A model from pooled features to outputs that reuses (shares) the classifier's head layers."""
    layer = feature_layer(model)
    head_layers = model.layers[model.layers.index(layer) + 1:]
    features = keras.Input(layer.output.shape[1:], name="features")
    x = features
    for layer in head_layers:
        x = layer(x)
    return keras.Model(features, x, name="head")


def extract_features(
    model: keras.Model,
    spec: DataSpec,
    image_size: tuple[int, int],
    batch_size: int = 64,
    *,
    augmentation: Augmentation | None = None,
    views: int = 0,
    seed: int = 0,
    decoded: tf.data.Dataset | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled backbone features of every image, once clean plus `views` augmented passes.

    Args:
        model: a `build_model` classifier (its backbone runs in inference mode).
        spec: the images.
        image_size: (height, width).
        batch_size: images per forward pass.
        augmentation: used for the augmented views.
        views: number of augmented passes added to the clean one.
        seed: seeds the augmented views.
        decoded: the spec's `decoded_images` to read and fill (default: decoded
            here, cached in memory or on disk when there are augmented views, so
            each image is decoded once).

    Returns:
        `(features float32 (N × (1 + views), D), labels in the model's format)`.

    Example:
        >>> features, labels = extract_features(model, train_spec, (224, 224))
    """
    extractor = feature_model(model)
    run = tf.function(lambda images: extractor(images, training=False), reduce_retracing=True)
    augmented = views if augmentation is not None and not augmentation.is_identity else 0
    if decoded is None:
        decoded = decoded_images(spec, image_size, cache="auto" if augmented else False)
    batch_size = even_batch_size(len(spec), batch_size)
    passes = [make_dataset(spec, image_size, batch_size, decoded=decoded)]
    passes += [make_dataset(spec, image_size, batch_size, training=True, shuffle=False, decoded=decoded,
                            augmentation=augmentation, seed=seed + view) for view in range(augmented)]
    features, labels = [], []
    for dataset in passes:
        for images, targets in dataset:
            features.append(run_padded(run, images, batch_size))
            labels.append(targets.numpy())
    return np.concatenate(features).astype(np.float32), np.concatenate(labels)


def even_batch_size(count: int, batch_size: int) -> int:
    """The batch size, at most `batch_size`, that splits `count` images into batches as equal as possible.

    The last batch is then at most one image per batch short, so padding it to the traced shape costs a few
    images instead of a second trace of the network (about a second for MobileNetV2 on a CPU).

    Example:
        >>> even_batch_size(150, 32)  # 5 batches of 30, not 4 of 32 and one of 22
        30
    """
    batches = max(1, -(-count // max(1, batch_size)))
    return max(1, -(-count // batches))


def run_padded(run, images: tf.Tensor, batch_size: int) -> np.ndarray:
    """`run(images)` with a short batch padded (by repeating its last image) to `batch_size`, so a
    `tf.function` keeps the one shape it traced; the padding's outputs are dropped."""
    count = int(images.shape[0])
    if count == batch_size:
        return run(images).numpy()
    padding = tf.repeat(images[-1:], batch_size - count, axis=0)
    return run(tf.concat([images, padding], axis=0)).numpy()[:count]


def fit_head_on_features(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    stage: Stage,
    *,
    loss,
    metrics: Sequence,
    batch_size: int = 32,
    class_weight: Mapping | None = None,
    monitor: str = "val_loss",
    shuffle: bool = True,
    keep_initial: bool = False,
    verbose: int = 1,
    strategy: tf.distribute.Strategy | None = None,
    seed: int = 0,
) -> dict:
    """Trains the classifier's head (in place) on cached features for one head-only stage.

    Args:
        model: the classifier; its head layers are trained, its backbone untouched.
        train: `(features, labels)`.
        validation: `(features, labels)` or None.
        stage: the stage (epochs, learning rate, schedule, patience, weight decay).
        loss, metrics: as compiled on the classifier.
        batch_size: as for the classifier.
        class_weight: per-class loss weights.
        monitor: early stopping's metric.
        shuffle: shuffle the features every epoch.
        keep_initial: score the head before training too, and keep its
            starting weights if no epoch beats them (for a warm-started head).
        verbose: Keras' verbosity.
        strategy: the `tf.distribute` strategy the classifier was built under: the head is built and trained
            under it, on datasets of the features (every worker holds the same features: training batches are
            split across workers, validation is evaluated whole by each, so all make the same decisions).
        seed: seeds the shuffling of the feature dataset (under a strategy).

    Returns:
        The stage's record, shaped like `StagedUnfreeze.stage_history` entries.
    """
    started = time.perf_counter()
    steps = int(np.ceil(len(train[0]) / batch_size))
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        head = head_model(model)
        head.compile(optimizer=make_optimizer(stage, steps), loss=loss, metrics=list(metrics))
    if validation is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    inputs, validation_data = _feature_data(train, validation, batch_size, shuffle, seed, strategy)
    initial = None
    if keep_initial and validation is not None:
        scores = head.evaluate(*_pair(validation_data), batch_size=None if strategy else batch_size, verbose=0,
                               return_dict=True)
        initial = (float(scores["loss"] if monitor == "val_loss" else scores.get(monitor[4:], np.nan)),
                   head.get_weights())
    callbacks = []
    if stage.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=stage.patience,
                                                       restore_best_weights=True))
    history = head.fit(**inputs, validation_data=validation_data, epochs=stage.epochs,
                       shuffle=shuffle and strategy is None, class_weight=class_weight, callbacks=callbacks,
                       verbose=verbose)
    values = history.history.get(monitor, [])
    best_epoch = int(np.argmax(values) if higher_is_better(monitor) else np.argmin(values)) if values else -1
    epochs_run = len(history.epoch)
    kept_initial = False
    if initial is not None and values and is_improvement(initial[0], values[best_epoch], monitor):
        head.set_weights(initial[1])
        kept_initial = True
    return {
        "name": stage.name,
        "stage": stage.to_dict(),
        "first_epoch": 0,
        "epochs_run": epochs_run,
        "trainable_blocks": [],
        "trainable_params": int(sum(np.prod(v.shape) for v in head.trainable_variables)),
        "metrics": {key: [float(v) for v in series] for key, series in history.history.items()},
        "best_epoch": best_epoch,
        "best_value": float(values[best_epoch]) if values else None,
        "stopped_early": epochs_run < stage.epochs,
        "wall_seconds": time.perf_counter() - started,
        "cached_features": True,
        "kept_initial_head": kept_initial,
    }


def _feature_data(train, validation, batch_size, shuffle, seed, strategy):
    """What the head trains and is scored on: the arrays (no strategy), or datasets sharded for the strategy."""
    if strategy is None:
        return {"x": train[0], "y": train[1], "batch_size": batch_size}, validation
    from keras_transfer.distributed.sharding import Policy, evaluate_whole, with_policy

    data = tf.data.Dataset.from_tensor_slices(train)
    if shuffle:
        data = data.shuffle(len(train[0]), seed=seed, reshuffle_each_iteration=True)
    data = with_policy(data.batch(batch_size), Policy.DATA)
    held_out = (evaluate_whole(tf.data.Dataset.from_tensor_slices(validation).batch(batch_size))
                if validation is not None else None)
    return {"x": data}, held_out


def _pair(validation) -> tuple:
    """`(x, y)` arrays as two arguments, a dataset as one."""
    return tuple(validation) if isinstance(validation, (tuple, list)) else (validation,)
