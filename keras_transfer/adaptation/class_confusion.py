"""Minimum Class Confusion (MCC, Jin et al. 2020): a loss on the target predictions alone, in keras.ops.

Where DANN, CORAL and MMD pull the target *features* towards the source ones,
MCC asks the classifier to stop confusing classes on the target: from a batch
of target predictions (rescaled by a temperature) it builds the class
correlation matrix, weighting confident examples more (1 + e^-entropy), and
penalises its off-diagonal mass. It needs no source batch and no domain head,
and is as tllib's `MinimumClassConfusionLoss`, which takes logits; the
classifier here ends in a softmax, and `softmax(log p / T)` is the same
distribution as `softmax(logits / T)`.
"""

from __future__ import annotations

from keras import ops

DEFAULT_TEMPERATURE = 2.5  # tllib's MCC examples
_EPSILON = 1e-5  # tllib's entropy: -sum p log(p + 1e-5)


def mcc_loss(probabilities, temperature: float = DEFAULT_TEMPERATURE):
    """The class confusion of a batch of target predictions: zero when each image is sure of one class.

    Args:
        probabilities: softmax outputs on target images, (batch, classes).
        temperature: rescales the predictions before the confusion is measured (1: as they are).

    Returns:
        A scalar tensor: `(sum(C) - trace(C)) / classes`, `C` the entropy-weighted class correlation matrix with
        each column normalised to sum 1.

    Raises:
        ValueError: a temperature that is not positive.

    Example:
        >>> mcc_loss(np.eye(4, dtype="float32"))  # 0: four images, each sure of its own class
    """
    if not temperature > 0:
        raise ValueError(f"mcc_loss needs a positive temperature, got {temperature!r}.")
    probabilities = ops.convert_to_tensor(probabilities)
    logits = ops.log(ops.clip(probabilities, 1e-12, 1.0)) / temperature
    predictions = ops.softmax(logits, axis=-1)
    batch = ops.cast(ops.shape(predictions)[0], predictions.dtype)
    classes = ops.cast(ops.shape(predictions)[1], predictions.dtype)
    entropy = ops.stop_gradient(-ops.sum(predictions * ops.log(predictions + _EPSILON), axis=1))
    weight = 1.0 + ops.exp(-entropy)
    weight = (batch * weight / ops.sum(weight))[:, None]
    confusion = ops.matmul(ops.transpose(predictions * weight), predictions)
    confusion = confusion / ops.maximum(ops.sum(confusion, axis=1), 1e-12)  # a class no image predicts: 0, not NaN
    return (ops.sum(confusion) - ops.trace(confusion)) / classes
