"""Whether TensorFlow decodes some bytes exactly as the training pipeline will: the scan's final test of a file.

Example:
    >>> tf_decode_error(Path("cat.jpg").read_bytes()) is None
    True
"""

from __future__ import annotations

import tensorflow as tf

from keras_transfer.data.images import decode_pixels


def tf_decode_error(data: bytes) -> str | None:
    """Decodes `data` exactly as the training pipeline does; returns TensorFlow's error message, or None if it decodes.

    This is `keras_transfer.images.decode_pixels`, the training pipeline's decoder without the resize.

    Args:
        data: an encoded image file's bytes.

    Returns:
        None when TensorFlow decodes it, else the first line of TensorFlow's error (at most 200 characters).

    Example:
        >>> tf_decode_error(b"not an image")
        'Unknown image file format. One of JPEG, JPEG XL, PNG, GIF, BMP, WebP required. name:'
    """
    try:
        decode_pixels(tf.constant(data))
    except (tf.errors.OpError, ValueError) as error:
        message = (getattr(error, "message", None) or str(error)).split("}} ")[-1].replace(" [Op:DecodeImage]", "")
        return (message.strip().splitlines() or [type(error).__name__])[0][:200]
    return None
