"""`GradientReversal`: identity on the way forward, minus `weight` times the gradient on the way back (DANN).

Ganin & Lempitsky (2015): a domain classifier after this layer learns to tell
source from target features, while the features below it receive the reversed
gradient and so learn to make the two domains indistinguishable. Keras has no
such layer (keras#10429 declined one as niche); `keras.ops.custom_gradient`
makes it a few lines and serialisable.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_transfer")
class GradientReversal(keras.layers.Layer):
    """Passes its input through unchanged and multiplies the gradient flowing back by `-weight`.

    The weight is a non-trainable variable, so a callback or a train step can
    warm it up (`set_weight`) without retracing the compiled step.

    Args:
        weight: the reversal weight lambda (>= 0); 0 blocks the gradient.
        **kwargs: `keras.layers.Layer` arguments (name, dtype).

    Example:
        >>> reverse = GradientReversal(weight=0.5)
        >>> domain_logits = domain_head(reverse(features))
        >>> reverse.set_weight(1.0)
    """

    def __init__(self, weight: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if weight < 0:
            raise ValueError(f"GradientReversal weight must be >= 0 (it scales the reversed gradient), got {weight}.")
        self.initial_weight = float(weight)
        self.reversal_weight = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_weight),
                                               trainable=False, name="reversal_weight")

    def set_weight(self, weight: float) -> None:
        """Sets lambda (used by the warm-up schedule)."""
        self.reversal_weight.assign(float(weight))

    def call(self, inputs):
        weight = ops.cast(self.reversal_weight, inputs.dtype)

        @ops.custom_gradient
        def reverse(x):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return ops.negative(upstream) * weight

            return ops.add(x, ops.zeros_like(x)), grad

        return reverse(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "weight": self.initial_weight}


def reversal_schedule(progress: float, gamma: float = 10.0, max_weight: float = 1.0) -> float:
    """DANN's warm-up of the reversal weight: `max_weight * (2 / (1 + exp(-gamma * p)) - 1)`, p in [0, 1].

    Starts at 0 (the domain head first learns on features the classifier
    shapes) and rises smoothly to `max_weight` (Ganin et al. 2016, eq. 14;
    tllib's `WarmStartGradientReverseLayer`).

    Args:
        progress: the share of training done, in [0, 1].
        gamma: how fast it rises (10 in the paper).
        max_weight: the final lambda.

    Returns:
        The weight for this point of training.

    Example:
        >>> reversal_schedule(0.0), round(reversal_schedule(1.0), 4)
        (0.0, 0.9999)
    """
    import math

    progress = min(max(float(progress), 0.0), 1.0)
    return float(max_weight * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0))
