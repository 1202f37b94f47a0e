"""Keras layers that keras_transfer bakes into its models.

They are registered with Keras' serialization, so a saved `.keras` model that
uses them loads with `safe_mode=True` and no custom code besides this package.
"""

from __future__ import annotations

import keras
from keras import ops

# Per-channel constants of the three preprocessing conventions used by
# keras.applications (see keras.applications.imagenet_utils.preprocess_input).
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

PREPROCESSING_MODES = ("caffe", "tf", "torch", "none")


@keras.saving.register_keras_serializable(package="keras_transfer")
class BackbonePreprocessing(keras.layers.Layer):
    """Maps RGB pixels in 0–255 (any dtype) to what a backbone expects.

    One layer for the conventions of `keras.applications.*.preprocess_input`,
    so the preprocessing travels inside the model: training, evaluation,
    export and serving cannot disagree, and nothing is applied twice.

    Args:
        mode: `"caffe"` (RGB→BGR, subtract the ImageNet mean; VGG, ResNet),
            `"tf"` (scale to -1..1; MobileNet, Inception, Xception, ResNetV2,
            NASNet), `"torch"` (scale to 0..1, normalise with the ImageNet mean
            and std; DenseNet) or `"none"` (the backbone preprocesses inside
            itself; EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3).

    Example:
        >>> layer = BackbonePreprocessing("tf")
        >>> float(layer(np.full((1, 2, 2, 3), 255, "uint8"))[0, 0, 0, 0])
        1.0
    """

    def __init__(self, mode: str = "none", **kwargs):
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ValueError(
                f"Unknown preprocessing mode {mode!r}: use one of {PREPROCESSING_MODES}."
            )
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            return ops.flip(x, axis=-1) - ops.convert_to_tensor(_CAFFE_BGR_MEAN, x.dtype)
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, x.dtype)
            return (x / 255.0 - mean) / std
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
