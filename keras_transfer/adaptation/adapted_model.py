"""The training model of domain adaptation: a classifier whose train step sees a source and a target batch.

As tllib does on a frozen backbone: the pooled backbone features are cached
once, and a trainable bottleneck (the classifier's `head_hidden` Dense layer)
and head are trained on them (`bottleneck_head`). The plan's stages that train
backbone blocks then run on images, through the whole classifier
(`bottleneck_network`), under the same alignment term. Each step takes
`((source inputs, labels), target inputs)`: the classification loss on the
source batch, plus an alignment term on the bottleneck features of both batches
(or, for MCC, on the target predictions):

- `"dann"`: a domain head after a `GradientReversal` layer, trained to tell
  source (1) from target (0); the reversed gradient makes the bottleneck fool it.
- `"coral"`, `"mmd"`: `coral_loss` / `mmd_loss` between the two batches.
- `"mcc"`: `mcc_loss`, the class confusion of the target batch's predictions.
- `None`: source only, the same network and steps without the alignment term.

The bottleneck and head layers are the classifier's own (shared), so training
this model trains the exported classifier, which has no domain head.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.alignment_losses import ALIGNMENT_LOSSES
from keras_transfer.adaptation.class_confusion import mcc_loss
from keras_transfer.adaptation.gradient_reversal import GradientReversal, reversal_schedule
from keras_transfer.train.feature_cache import feature_layer

ADAPTATIONS = ("dann", "coral", "mmd", "mcc")
BOTTLENECK_LAYER = "head_hidden"


def check_adaptation(adaptation: str | None) -> str | None:
    """Raises a clear error for an unknown adaptation name; returns it (None: source only)."""
    if adaptation is not None and adaptation not in ADAPTATIONS:
        raise ValueError(f"Unknown adaptation {adaptation!r}: choose one of {list(ADAPTATIONS)} "
                         "(or None for source-only training).")
    return adaptation


def bottleneck_head(classifier: keras.Model) -> keras.Model:
    """A model from pooled features to `(bottleneck features, probabilities)` sharing the classifier's head layers.

    Args:
        classifier: a `build_model` classifier built with `hidden_units` (its `head_hidden` layer is the bottleneck).

    Returns:
        The two-output `keras.Model`.

    Raises:
        ValueError: the classifier has no bottleneck layer.
    """
    names = [layer.name for layer in classifier.layers]
    if BOTTLENECK_LAYER not in names:
        raise ValueError("Domain adaptation aligns the features of a bottleneck layer: build the classifier with "
                         "hidden_units= (the bottleneck width).")
    pooled = feature_layer(classifier)
    features = keras.Input(pooled.output.shape[1:], name="pooled_features")
    x, bottleneck = features, None
    for layer in classifier.layers[names.index(pooled.name) + 1:]:
        x = layer(x)
        if layer.name == BOTTLENECK_LAYER:
            bottleneck = x
    return keras.Model(features, [bottleneck, x], name="bottleneck_head")


def bottleneck_network(classifier: keras.Model) -> keras.Model:
    """A model from pixels to `(bottleneck features, probabilities)`: the whole classifier, sharing its layers.

    Training it trains the classifier's backbone blocks that are trainable, its bottleneck and head.

    Args:
        classifier: a `build_model` classifier built with `hidden_units`.

    Returns:
        The two-output `keras.Model`.

    Raises:
        ValueError: the classifier has no bottleneck layer.

    Example:
        >>> bottleneck, probabilities = bottleneck_network(classifier)(images)
    """
    if BOTTLENECK_LAYER not in [layer.name for layer in classifier.layers]:
        raise ValueError("Domain adaptation aligns the features of a bottleneck layer: build the classifier with "
                         "hidden_units= (the bottleneck width).")
    return keras.Model(classifier.inputs, [classifier.get_layer(BOTTLENECK_LAYER).output, classifier.outputs[0]],
                       name="bottleneck_network")


def new_domain_head(units: int = 256, seed: int = 0) -> keras.Sequential:
    """DANN's domain classifier: two ReLU layers of `units` and one logit (source 1, target 0).

    Example:
        >>> head = new_domain_head(256, seed=0)
    """
    init = keras.initializers.GlorotUniform
    return keras.Sequential([
        keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed)),
        keras.layers.Dense(units, activation="relu", kernel_initializer=init(seed + 1)),
        keras.layers.Dense(1, kernel_initializer=init(seed + 2)),
    ], name="domain_head")


class AdaptedHead(keras.Model):
    """A two-output network plus (for DANN) a domain head; `train_step` takes `((source_x, source_y), target_x)`.

    Calling it gives class probabilities, so `fit(validation_data=(x, y))` and
    `evaluate` score the source task as usual.

    Args:
        head: `bottleneck_head(classifier)` (on cached features) or `bottleneck_network(classifier)` (on images).
        adaptation: "dann", "coral", "mmd", "mcc" or None (source only).
        loss_weight: the weight of the alignment (or domain) loss.
        domain_units: width of the DANN domain head's hidden layers.
        seed: seeds the domain head's initialisation.
        domain_head: for DANN, a domain head to go on training (the one the head stage trained, so the backbone
            stages do not start against a fresh one); default: `domain_head(domain_units, seed)`.

    Example:
        >>> adapted = AdaptedHead(bottleneck_head(classifier), "dann")
        >>> adapted.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        >>> pairs, steps = paired_dataset(xs, ys, xt, 32)
        >>> adapted.fit(pairs, epochs=10, steps_per_epoch=steps, callbacks=[WarmUp(10 * steps)])
    """

    def __init__(self, head: keras.Model, adaptation: str | None, loss_weight: float = 1.0,
                 domain_units: int = 256, seed: int = 0, domain_head: keras.Model | None = None, **kwargs):
        super().__init__(**kwargs)
        self.head = head
        self.adaptation = check_adaptation(adaptation)
        self.loss_weight = float(loss_weight)
        self.warmup_weight = self.add_weight(shape=(), initializer="ones", trainable=False, name="warmup_weight")
        self.alignment_tracker = keras.metrics.Mean(name="alignment_loss")
        self.reversal = None
        if self.adaptation == "dann":
            self.reversal = GradientReversal(1.0, name="gradient_reversal")
            self.domain_head = domain_head if domain_head is not None else new_domain_head(domain_units, seed)
            if not self.domain_head.built:  # its variables must exist before a stage builds its optimizer
                self.domain_head.build((None, int(head.outputs[0].shape[-1])))

    def call(self, features, training=False):
        return self.head(features, training=training)[1]

    def set_warmup(self, weight: float) -> None:
        """Sets the scheduled weight: the reversal lambda for DANN, the alignment loss's factor otherwise."""
        self.warmup_weight.assign(float(weight))
        if self.reversal is not None:
            self.reversal.set_weight(weight)

    def alignment_loss(self, source_bottleneck, target_bottleneck, training: bool = True, target_predictions=None):
        """The alignment term between the bottleneck features of a source and a target batch (0 for source only);
        MCC reads the target batch's predictions instead."""
        if self.adaptation is None:
            return tf.constant(0.0)
        if self.adaptation == "mcc":
            return tf.cast(self.warmup_weight, target_predictions.dtype) * mcc_loss(target_predictions)
        if self.adaptation == "dann":
            both = tf.concat([source_bottleneck, target_bottleneck], axis=0)
            logits = self.domain_head(self.reversal(both), training=training)
            domains = tf.concat([tf.ones_like(source_bottleneck[:, :1]), tf.zeros_like(target_bottleneck[:, :1])], 0)
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=domains, logits=logits))
        scale = tf.cast(self.warmup_weight, source_bottleneck.dtype)
        return scale * ALIGNMENT_LOSSES[self.adaptation](source_bottleneck, target_bottleneck)

    def train_step(self, data):
        (source_x, source_y), target_x = data
        with tf.GradientTape() as tape:
            source_bottleneck, source_pred = self.head(source_x, training=True)
            classification = self.compute_loss(x=source_x, y=source_y, y_pred=source_pred, training=True)
            if self.adaptation is None:  # source only: the target batch is not read (no pass through the backbone)
                alignment = tf.constant(0.0, classification.dtype)
            else:
                target_bottleneck, target_pred = self.head(target_x, training=True)
                alignment = tf.cast(self.alignment_loss(source_bottleneck, target_bottleneck,
                                                        target_predictions=target_pred), classification.dtype)
            loss = self.optimizer.scale_loss(classification + self.loss_weight * alignment)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self._loss_tracker.update_state(classification)  # "loss" stays the classification loss, as val_loss is
        self.alignment_tracker.update_state(alignment)
        return self.compute_metrics(source_x, source_y, source_pred)

    def test_step(self, data):
        results = dict(super().test_step(data))
        results.pop(self.alignment_tracker.name, None)  # scored on the source alone: there is no alignment term
        return results


class WarmUp(keras.callbacks.Callback):
    """Sets `AdaptedHead`'s scheduled weight before every batch: `reversal_schedule(step / total_steps)`.

    Args:
        total_steps: the steps of the whole run (progress 1 at the end).
        gamma: how fast the weight rises (10 as in DANN); None keeps it at 1 (no warm-up).
    """

    def __init__(self, total_steps: int, gamma: float | None = 10.0):
        super().__init__()
        self.total_steps = max(int(total_steps), 1)
        self.gamma = gamma
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        weight = 1.0 if self.gamma is None else reversal_schedule(self.step / self.total_steps, self.gamma)
        self.model.set_warmup(weight)
        self.step += 1


def paired_dataset(source_features: np.ndarray, source_labels: np.ndarray, target_features: np.ndarray,
                   batch_size: int, seed: int = 0) -> tuple[tf.data.Dataset, int]:
    """An endless dataset of `((source batch, labels), target batch)` pairs, each side shuffled on its own.

    Args:
        source_features, source_labels: the labelled source features.
        target_features: the unlabeled target features.
        batch_size: rows per side (at most the smaller set's size).
        seed: the shuffling seed.

    Returns:
        `(dataset, steps per epoch)`: an epoch is one pass over the source.

    Raises:
        ValueError: an empty source or target.
    """
    if len(source_features) == 0 or len(target_features) == 0:
        raise ValueError("Domain adaptation needs source and target images: one of them is empty.")
    batch = max(1, min(batch_size, len(source_features), len(target_features)))
    source = (tf.data.Dataset.from_tensor_slices((source_features, source_labels))
              .shuffle(len(source_features), seed=seed).repeat().batch(batch, drop_remainder=True))
    target = (tf.data.Dataset.from_tensor_slices(target_features)
              .shuffle(len(target_features), seed=seed + 1).repeat().batch(batch, drop_remainder=True))
    return tf.data.Dataset.zip((source, target)).prefetch(2), max(1, math.ceil(len(source_features) / batch))
