"""How each worker's input is split: training data sharded (by file where the data is files), evaluation whole.

`tf.data` splits a dataset across the workers of a `MultiWorkerMirroredStrategy` by its
`AutoShardPolicy`. Set here, not left to `AUTO` (which tries files, warns, then falls back):

- training data: `FILE` when it reads TFRecord shards (`DataSpec.shard_files`) and there are at least as many
  files as workers (each worker reads its own files: nothing else is read), otherwise `DATA` (every worker
  reads everything and keeps every n-th batch, so the pipeline must be deterministic: it is, it is seeded);
- validation data: `OFF`: every worker evaluates all of it, so every worker sees the same validation metrics
  and makes the same early-stopping and keep-best decisions (stages stay in step, weights stay identical).

Example:
    >>> train_ds = shard_training(train_ds, train_spec, strategy)
    >>> val_ds = evaluate_whole(val_ds)
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_transfer.data.spec import DataSpec
from keras_transfer.distributed.strategy import num_workers

Policy = tf.data.experimental.AutoShardPolicy


def training_policy(spec: DataSpec | None, strategy: Any) -> Policy:
    """`FILE` for shard files (at least one per worker), else `DATA`."""
    files = getattr(spec, "shard_files", None)
    return Policy.FILE if files and len(files) >= num_workers(strategy) else Policy.DATA


def with_policy(dataset: tf.data.Dataset, policy: Policy) -> tf.data.Dataset:
    """The dataset with its auto-shard policy set."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return dataset.with_options(options)


def shard_training(dataset: tf.data.Dataset, spec: DataSpec | None, strategy: Any) -> tf.data.Dataset:
    """A training dataset as each worker should read it (unchanged without a strategy)."""
    if strategy is None:
        return dataset
    return with_policy(dataset, training_policy(spec, strategy))


def evaluate_whole(dataset: tf.data.Dataset | None, strategy: Any = True) -> tf.data.Dataset | None:
    """A validation dataset every worker reads whole (`OFF`), so all workers compute the same metrics."""
    if dataset is None or strategy is None:
        return dataset
    return with_policy(dataset, Policy.OFF)
