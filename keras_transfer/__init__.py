"""keras_transfer: transfer learning with Keras 3 that is fast, correct and boring.

Example:
    >>> import keras_transfer
    >>> result = keras_transfer.build_and_fit("photos/", backbone="efficientnetv2b0")
    >>> print(result.summary())
"""

__version__ = "0.1.0"

from keras_transfer.augmentation import DEFAULT_AUGMENTATION, Augmentation  # noqa: E402
from keras_transfer.backbones import (  # noqa: E402
    BackboneSpec,
    Block,
    custom_backbone,
    get_backbone,
    list_backbones,
)
from keras_transfer.data import DataSpec, load_data  # noqa: E402
from keras_transfer.fit import FitResult, build_and_fit, build_and_fit_from_config  # noqa: E402
from keras_transfer.generator import ImageDataGenerator  # noqa: E402
from keras_transfer.layers import BackbonePreprocessing  # noqa: E402
from keras_transfer.model import build_model, model_blocks  # noqa: E402
from keras_transfer.pipeline import make_dataset  # noqa: E402
from keras_transfer.training import LayerwiseAdamW, Stage, StagedUnfreeze, default_stages  # noqa: E402

__all__ = [
    "Augmentation",
    "BackbonePreprocessing",
    "BackboneSpec",
    "Block",
    "DEFAULT_AUGMENTATION",
    "DataSpec",
    "FitResult",
    "ImageDataGenerator",
    "LayerwiseAdamW",
    "Stage",
    "StagedUnfreeze",
    "build_and_fit",
    "build_and_fit_from_config",
    "build_model",
    "custom_backbone",
    "default_stages",
    "get_backbone",
    "list_backbones",
    "load_data",
    "make_dataset",
    "model_blocks",
]
