"""Image decoding and resizing in TensorFlow ops: one implementation for training and serving.

The training pipeline and the exported `serving_default` signature both call
`decode_image`, so a JPEG is turned into pixels the same way in both.
"""

from __future__ import annotations

import tensorflow as tf

# Files TensorFlow decodes in the graph, and those the up-front scan converts with Pillow first.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")
CONVERTIBLE_EXTENSIONS = (".tif", ".tiff")


# Resize methods whose outputs are weighted means of the input pixels: uint8 in, 0-255 out.
CONVEX_RESIZE_METHODS = ("bilinear", "area", "nearest")


def decode_image(encoded: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Decodes one encoded image (JPEG/PNG/GIF/BMP) to float32 RGB pixels (0–255) of `image_size`.

    Grayscale becomes RGB, alpha is dropped, 16-bit PNGs are scaled to 8 bits
    and an animated GIF gives its first frame.

    Args:
        encoded: a scalar `tf.string` holding the file's bytes.
        image_size: (height, width) of the output.
        method: the `tf.image.resize` method.

    Returns:
        A float32 tensor of shape (height, width, 3), values in 0–255.

    Example:
        >>> pixels = decode_image(tf.io.read_file("cat.jpg"), (224, 224))
    """
    return resize_pixels(decode_pixels(encoded), image_size, method)


def decode_pixels(encoded: tf.Tensor) -> tf.Tensor:
    """Decodes one encoded image to uint8 RGB (H, W, 3), as training and serving do (no resize).

    Example:
        >>> decode_pixels(tf.io.read_file("cat.png")).shape
        TensorShape([480, 640, 3])
    """
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, 3])
    return image


def resize_pixels(image: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Resizes (H, W, C) or (B, H, W, C) pixels to `image_size`, as float32 0–255.

    One or four channels become three (grayscale repeated, alpha dropped).
    """
    image = tf.convert_to_tensor(image)
    channels = image.shape[-1]
    if channels == 1:
        image = tf.image.grayscale_to_rgb(image)
    elif channels == 4:
        image = image[..., :3]
    height, width = image_size
    if image.shape[-3] == height and image.shape[-2] == width:
        return tf.cast(image, tf.float32)
    # The resize kernels read decoded uint8 as it is: no float copy of the full-size image.
    decoded = image.dtype == tf.uint8
    resized = tf.cast(tf.image.resize(image if decoded else tf.cast(image, tf.float32), (height, width),
                                      method=method), tf.float32)
    if decoded and method in CONVEX_RESIZE_METHODS:  # weighted means of 0-255 pixels stay in 0-255
        return resized
    return tf.clip_by_value(resized, 0.0, 255.0)
