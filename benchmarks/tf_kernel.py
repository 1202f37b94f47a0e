"""The augmentation as it was before the XLA warp: TensorFlow's `ImageProjectiveTransformV3` CPU kernel.

Kept for the input-pipeline benchmark only, to measure the library's XLA
warp against the kernel it replaced in the same run, and to check both give
the same pixels. Same random draws and matrices (`Augmentation.matrices`),
same fill modes, bilinear sampling, brightness, channel shift and clip.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import tensorflow as tf

from keras_transfer.data.augmentation import FILL_MODES, Augmentation


@dataclass(frozen=True)
class TfKernelAugmentation(Augmentation):
    """`Augmentation` computed with TensorFlow's projective-transform kernel instead of the XLA warp."""

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
        if self.random_resized_crop is not None:
            images = self._random_resized_crop(images, seeds[0])
        shape = tf.shape(images)
        batch = shape[0]
        if self.has_geometry:
            images = tf.raw_ops.ImageProjectiveTransformV3(
                images=images, transforms=self.matrices(shape, seeds[1]), output_shape=shape[1:3],
                fill_value=tf.constant(self.cval, tf.float32), interpolation="BILINEAR",
                fill_mode=FILL_MODES[self.fill_mode])
        if self.brightness_range is not None:
            low, high = self.brightness_range
            images = images * tf.random.stateless_uniform([batch, 1, 1, 1], seeds[2], low, high)
        if self.channel_shift_range:
            shift = self.channel_shift_range
            images = images + tf.random.stateless_uniform([batch, 1, 1, 1], seeds[3], -shift, shift)
        return tf.clip_by_value(images, 0.0, 255.0)


def as_tf_kernel(augmentation: Augmentation) -> TfKernelAugmentation:
    """The same policy, computed with the TensorFlow kernel."""
    return TfKernelAugmentation(**{f.name: getattr(augmentation, f.name) for f in fields(Augmentation)})


def max_difference(augmentation: Augmentation, images: tf.Tensor, seed=(3, 4)) -> float:
    """Largest |library - TF kernel| pixel difference for one seed; `images` are uint8 (B, H, W, 3)."""
    seed = tf.constant(seed, tf.int64)
    return float(tf.reduce_max(tf.abs(augmentation(images, seed) - as_tf_kernel(augmentation)(images, seed))))
