"""Precise BatchNorm: population statistics recomputed before each validation, so the validation signal is true.

While a network trains from scratch its BatchNorm moving averages lag far
behind its weights (they average statistics of weights that no longer
exist), so validation in inference mode scores a model that was never
trained: early stopping then restores the first epoch and the run ends at
chance. Before each validation this callback recomputes the statistics of
every trainable BatchNorm layer over a few hundred training images with the
current weights — as detectron2's PreciseBN hook and
`torch.optim.swa_utils.update_bn` do — so validation, early stopping, the
kept weights and the export all see the statistics of the weights they
judge. Once more when training ends, for the weights it ends with (without
validation data that is the only time).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_transfer.models.classifier import batchnorm_layers

DEFAULT_IMAGES = 256


class PreciseBatchNorm(keras.callbacks.Callback):
    """Recomputes trainable BatchNorm layers' moving statistics from training batches before validation.

    The statistics are the running average over the batches (the momentum of
    the i-th batch is i / (i + 1)), computed in training mode, so each layer
    sees the inputs it sees in training. Layers that do not train (a frozen
    pretrained backbone) are left alone.

    Args:
        data: the training dataset, batched (its images, not its labels, are read).
        images: how many training images to average over (whole batches, at least one).

    Example:
        >>> model.fit(train, validation_data=val, epochs=20, callbacks=[PreciseBatchNorm(train)])
    """

    def __init__(self, data: tf.data.Dataset, images: int = DEFAULT_IMAGES):
        super().__init__()
        self.data = data
        self.images = int(images)
        self.updates = 0

    def on_test_begin(self, logs=None):
        self._recompute()

    def on_train_end(self, logs=None):
        """The weights training ends with (perhaps an earlier epoch's, restored) get their own statistics too."""
        self._recompute()

    def _recompute(self) -> None:
        layers = [layer for layer in batchnorm_layers(self.model) if layer.trainable]
        if layers:
            recompute_batchnorm_statistics(self.model, self.data, layers, self.images)
            self.updates += 1


def recompute_batchnorm_statistics(model: keras.Model, data: tf.data.Dataset,
                                   layers: list[keras.layers.BatchNormalization],
                                   images: int = DEFAULT_IMAGES) -> int:
    """Sets `layers`' moving mean and variance to their averages over training batches.

    Args:
        model: the model holding the layers.
        data: batched `(images, labels)` (or images) to run forward in training mode.
        layers: the BatchNormalization layers to update.
        images: how many images to average over.

    Returns:
        The number of batches used.

    Example:
        >>> recompute_batchnorm_statistics(model, train_ds, batchnorm_layers(model))
    """
    momenta = [layer.momentum for layer in layers]
    batches = seen = 0
    try:
        for batch in data:
            pixels = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = batches / (batches + 1.0)
            model(pixels, training=True)
            batches += 1
            seen += int(tf.shape(pixels)[0])
            if seen >= images:
                break
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return batches
