"""Data: sources -> `DataSpec`, the file scan, decoding, tf.data pipelines, augmentation, Keras 2's ImageDataGenerator.

`keras_transfer.data` was one module before 0.2; its public names still import from here. They are
`keras_transfer.data.sources`' public names, listed once, in its `__all__`.
"""

from keras_transfer.data import sources
from keras_transfer.data.sources import *  # noqa: F403 (re-exports exactly sources.__all__)

__all__ = sources.__all__
