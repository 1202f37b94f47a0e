"""Two fixes Keras 3.15's TensorFlow trainer needs to run `model.fit` under MultiWorkerMirroredStrategy.

Without them `model.fit` fails on every worker of a two-worker cluster (TensorFlow 2.21, one CPU each):

1. Before the first step, `TensorFlowTrainer._maybe_symbolic_build` takes one batch and calls
   `strategy.reduce("MEAN", (images, labels), axis=None)` on the whole tuple, only to learn its shapes. With more
   than one worker that reduce goes to the collective ops, which cannot take a tuple:
   `ValueError: Attempt to convert a value (PerReplica:{...}) with an unsupported type
   (<class 'tensorflow.python.distribute.values.PerReplica'>) to a Tensor.`
   Fix: build from this worker's own copy of the batch (`experimental_local_results`): only shapes are read.
2. Each step's logs go through `reduce_per_replica`, which under a multi-worker strategy calls
   `strategy.reduce("MEAN", value, axis=0)` on the scalar loss and metrics:
   `ValueError: Invalid reduction dimension 0 for input with 0 dimensions. for '{{node Sum_3}} = Sum[...]'`.
   Fix: scalars are reduced with `axis=None` (the mean across workers), everything else as Keras does.

(keras-team/keras#20585 asks whether Keras 3 works with this strategy.) `apply()` installs both, once; it
changes nothing for runs without a multi-worker strategy.
"""

from __future__ import annotations

import tensorflow as tf

_applied = False


def apply() -> None:
    """Installs both fixes into Keras' TensorFlow trainer (idempotent)."""
    global _applied
    if _applied:
        return
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = tf_trainer.reduce_per_replica
    is_multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def local_copy(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or iterator is None or not is_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tree.map_structure(lambda value: local_copy(strategy, value), next(batches))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not is_multi_worker(strategy):
            return original_reduce(values, strategy, reduction)

        def reduce_one(value):
            shape = getattr(local_copy(strategy, value), "shape", None)
            if shape is not None and shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return tree.map_structure(reduce_one, values)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _applied = True
