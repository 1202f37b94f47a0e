"""Which dtype policy a run trains under, and building layers under it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf


def resolve_precision(mixed_precision: str | bool, strategy: tf.distribute.Strategy | None = None) -> str:
    """The Keras dtype policy for a run: mixed precision where the hardware gains from it.

    Args:
        mixed_precision: `"auto"` (mixed_float16 on a GPU, mixed_bfloat16 under
            a TPU strategy, float32 on CPU), True (the same, bfloat16 on CPU),
            False (float32), or a policy name (used as it is).
        strategy: the run's `tf.distribute` strategy, if any.

    Returns:
        A dtype policy name.

    Example:
        >>> resolve_precision("auto")  # on a CPU
        'float32'
    """
    if isinstance(mixed_precision, str) and mixed_precision != "auto":
        return mixed_precision
    if mixed_precision is False:
        return "float32"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if mixed_precision is True else "float32"


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Builds layers under a Keras dtype policy, then restores the previous one.

    Args:
        name: the policy, e.g. `"mixed_bfloat16"`.

    Example:
        >>> with dtype_policy("mixed_bfloat16"):
        ...     model = build_model("mobilenetv2", 3)
    """
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
