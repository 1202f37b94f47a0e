"""TPU-ready runs: every training step the same static shape.

A TPU (and any `jit_compile=True` XLA step) compiles one program per input shape: a last, partial batch is
either a recompilation (XLA) or an error (TPU). `drop_remainder="auto"` drops it where that matters.

Example:
    >>> resolve_drop_remainder("auto", tpu_strategy, jit_compile=False)
    True
"""

from __future__ import annotations

from typing import Any

from keras_transfer.distributed.strategy import is_tpu


def resolve_drop_remainder(drop_remainder: bool | str, strategy: Any, jit_compile: bool | str) -> bool:
    """Whether the training batches drop their last partial batch.

    Args:
        drop_remainder: True, False or "auto" (True under a TPU strategy or with `jit_compile=True`).
        strategy: the run's strategy.
        jit_compile: the run's `jit_compile`.

    Returns:
        The decision.

    Raises:
        ValueError: anything but True, False or "auto".
    """
    if isinstance(drop_remainder, bool):
        return drop_remainder
    if drop_remainder != "auto":
        raise ValueError(f"drop_remainder must be True, False or 'auto', got {drop_remainder!r}.")
    return is_tpu(strategy) or jit_compile is True
