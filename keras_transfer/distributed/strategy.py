"""Which `tf.distribute` strategy a run trains under: a strategy object given, or one named by `distribute=`.

| `distribute=` | strategy |
|---|---|
| None | the `strategy=` given (None: no strategy) |
| `"multi_worker"` | `MultiWorkerMirroredStrategy` over the cluster in TF_CONFIG (`collective_timeout`) |
| `"mirrored"` | `MirroredStrategy` over this machine's GPUs (or its CPU) |
| `"tpu"` | `TPUStrategy` on the TPU found by `TPUClusterResolver` (a TPU VM: `tpu="local"`) |
| `"auto"` | `"multi_worker"` with a TF_CONFIG of several workers, `"tpu"` on a TPU, `"mirrored"` with GPUs |

`MultiWorkerMirroredStrategy` must be created before the process runs any TensorFlow op; `build_and_fit`
creates it first thing. The Keras fixes it needs (`keras_fixes`) are installed with it.

Example:
    >>> strategy = resolve_strategy(distribute="multi_worker")   # TF_CONFIG set by the cluster manager
    >>> num_workers(strategy)
    2
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_transfer.distributed import keras_fixes
from keras_transfer.distributed.cluster import read_tf_config, strategy_role

DISTRIBUTE_CHOICES = ("multi_worker", "mirrored", "tpu", "auto")


def resolve_strategy(strategy: Any = None, distribute: str | None = None,
                     collective_timeout: float | None = None) -> tf.distribute.Strategy | None:
    """The run's strategy.

    Args:
        strategy: a `tf.distribute.Strategy` (used as given; a multi-worker one gets the Keras fixes).
        distribute: None, or one of `DISTRIBUTE_CHOICES` (see the module's table).
        collective_timeout: seconds a multi-worker collective may wait for a peer before it fails (None: no limit);
            a worker killed mid-step then stops the others with an error instead of a hang.

    Returns:
        The strategy, or None.

    Raises:
        ValueError: an unknown `distribute`, a `strategy` of another kind, `"multi_worker"` without
            TF_CONFIG, or a strategy created too late in the process.

    Example:
        >>> resolve_strategy(distribute="mirrored").num_replicas_in_sync
        1
    """
    if distribute is None:
        if is_multi_worker(strategy):
            keras_fixes.apply()
        return strategy
    if distribute not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute must be one of {DISTRIBUTE_CHOICES} or None, got {distribute!r}.")
    if strategy is not None:  # e.g. a resolved config run again: the object must be of the kind named
        kinds = {"multi_worker": tf.distribute.MultiWorkerMirroredStrategy,
                 "mirrored": tf.distribute.MirroredStrategy, "tpu": tf.distribute.TPUStrategy}
        if distribute != "auto" and not isinstance(strategy, kinds[distribute]):
            raise ValueError(f"strategy= is a {type(strategy).__name__} but distribute={distribute!r}: give one "
                             "of them, or both of the same kind.")
        return resolve_strategy(strategy)
    if distribute == "auto":
        distribute = _automatic_choice()
        if distribute is None:
            return None
    if distribute == "mirrored":
        return tf.distribute.MirroredStrategy()
    if distribute == "tpu":
        return _tpu_strategy()
    role = read_tf_config()
    if role.task_type is None:
        raise ValueError("distribute='multi_worker' reads the cluster from TF_CONFIG, which is not set: set it on "
                         "every host (see the README's multi-worker section) or run `keras-transfer fit --workers N`.")
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    try:
        made = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:
        raise ValueError(f"MultiWorkerMirroredStrategy could not start ({error}): it must be created before the "
                         "process runs any TensorFlow op. Call build_and_fit(distribute='multi_worker') (or create "
                         "the strategy) first thing in the program.") from error
    keras_fixes.apply()
    return made


def is_multi_worker(strategy: Any) -> bool:
    """Whether `strategy` spans more than one worker process."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and num_workers(strategy) > 1


def num_workers(strategy: Any) -> int:
    """How many worker processes train under `strategy` (1 for None or a one-machine strategy)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return max(1, int(strategy.extended._num_workers))  # noqa: SLF001 (the strategy's own count)
    return strategy_role(strategy).num_workers if strategy is not None else 1


def is_tpu(strategy: Any) -> bool:
    """Whether `strategy` is a TPU strategy."""
    return isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy))


def _automatic_choice() -> str | None:
    if read_tf_config().num_workers > 1:
        return "multi_worker"
    if tf.config.list_logical_devices("TPU"):
        return "tpu"
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return None


def _tpu_strategy() -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ValueError(f"distribute='tpu' found no TPU ({error}): run on a TPU VM (see the README's TPU "
                         "section), or use distribute='auto'.") from error
    return tf.distribute.TPUStrategy(resolver)
