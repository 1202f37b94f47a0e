"""`validation_data` and `representative_data` for `export`: arrays, `(images, labels)` or datasets, as pixels.

`load_arrays` turns what the caller passed into float32 pixels at the model's
input size (plus labels), before any file is written, so a bad argument fails
early.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.data.images import resize_pixels


def load_arrays(
    data: Any, image_size: tuple[int, int], name: str, need_labels: bool = False, method: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Turns arrays, `(images, labels)` or a `tf.data.Dataset` into float32 pixels of `image_size` (+ labels).

    Args:
        data: an image array (N, H, W, 3), an `(images, labels)` tuple, or a
            `tf.data.Dataset` of image batches or `(images, labels)` batches;
            None gives None.
        image_size: (height, width) to resize to.
        name: the argument's name, for error messages.
        need_labels: labels are required.
        method: the `tf.image.resize` method for images of another size.

    Returns:
        `(pixels float32 (N, h, w, 3), labels or None)`, or None for None.

    Raises:
        ValueError: data that holds no RGB images, an empty dataset, or no
            labels when `need_labels`.

    Example:
        >>> pixels, labels = load_arrays((x_val, y_val), (224, 224), "validation_data", need_labels=True)
    """
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        images, labels = _dataset_arrays(data, name)
    elif isinstance(data, (tuple, list)) and len(data) == 2 and not _is_image_array(data):
        images, labels = np.asarray(data[0]), np.asarray(data[1])
    else:
        images, labels = np.asarray(data), None
    if images.ndim == 3 and images.shape[-1] in (1, 3, 4):
        images = images[None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or not len(images):
        raise ValueError(
            f"{name} must hold RGB images shaped (N, height, width, 3); got shape {images.shape}. "
            "File paths and encoded images are not accepted here: decode them first."
        )
    if need_labels and labels is None:
        raise ValueError(f"{name} needs labels: pass (images, labels) or a dataset of (images, labels) batches.")
    pixels = resize_pixels(images, image_size, method).numpy().astype(np.float32)
    return pixels, labels


def _is_image_array(data: Sequence) -> bool:
    """True for a two-image list (rather than an (images, labels) pair)."""
    shapes = [np.shape(item) for item in data]
    return shapes[0] == shapes[1] and len(shapes[0]) == 3


def _dataset_arrays(dataset: tf.data.Dataset, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Collects a dataset of image batches or (images, labels) batches into arrays."""
    images, labels = [], []
    for element in dataset.as_numpy_iterator():
        if isinstance(element, tuple):
            images.append(element[0])
            labels.append(element[1])
        else:
            images.append(element)
    if not images:
        raise ValueError(f"{name} is an empty dataset.")
    if images[0].ndim == 3:
        images = [image[None] for image in images]
        labels = [np.asarray(label)[None] for label in labels]
    return np.concatenate(images), (np.concatenate(labels) if labels else None)
