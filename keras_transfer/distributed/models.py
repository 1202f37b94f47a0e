"""The model a multi-worker run returns: a plain copy, outside the strategy, on every worker.

After training, the weights are the same on every worker. A model whose variables still belong to a
`MultiWorkerMirroredStrategy` would make every later use a cluster operation (saving a SavedModel, say,
wants every worker to take part); the copy needs nobody, so the chief exports it alone.

Example:
    >>> plain = local_model(model, strategy)
"""

from __future__ import annotations

from typing import Any

import keras

from keras_transfer.distributed.strategy import is_multi_worker


def local_model(model: keras.Model, strategy: Any) -> keras.Model:
    """`model` itself, or under a multi-worker strategy a copy with the same weights outside it.

    Args:
        model: the trained classifier.
        strategy: the run's strategy (or None).

    Returns:
        A `keras.Model` (uncompiled: evaluation compiles it with the run's loss and metrics).
    """
    if not is_multi_worker(strategy):
        return model
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
