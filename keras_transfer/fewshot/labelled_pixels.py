"""`labelled_pixels()`: every image of a labelled data source as uint8 pixels at one size, with class indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import load_data
from keras_transfer.fewshot.method import class_indices


def labelled_pixels(data: Any, image_size: tuple[int, int], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray,
                                                                                           list[str]]:
    """Every image of `data` (any source `load_data` reads) as uint8 pixels at `image_size`, with class indices.

    Args:
        data: labelled images (a folder with a sub-folder per class, a CSV, `(images, labels)` arrays, ...).
        image_size: `(height, width)` to resize to.
        batch_size: images decoded at a time.

    Returns:
        `(pixels (N, H, W, 3) uint8, class indices (N,), class names)`.

    Raises:
        ValueError: multi-label data (episodes need one class per image).

    Example:
        >>> pixels, labels, names = labelled_pixels("base_classes/", (64, 64))
    """
    spec, _ = load_data(data, validation_split=0)
    if spec.multi_label:
        raise ValueError("Episodes need single-label images (one class per image); this data is multi-label.")
    images, labels = [], []
    for batch, targets in make_dataset(spec, image_size, batch_size, cache=False):
        images.append(np.clip(np.round(batch.numpy()), 0, 255).astype("uint8"))
        labels.append(class_indices(targets.numpy()))
    return np.concatenate(images), np.concatenate(labels), list(spec.class_names)
