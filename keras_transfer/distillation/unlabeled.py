"""Images without labels, as a `DataSpec` whose labels are -1 (one-hot: all zeros), for the teacher to label."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from keras_transfer.data.spec import DataSpec

UNLABELED = -1


def unlabeled_spec(data: Any, class_names: list[str]) -> DataSpec:
    """The unlabeled images as a spec: an image array, a folder (searched recursively) or image files.

    Args:
        data: (N, H, W, C) pixels, an `(images, labels)` pair (the labels are ignored), a folder, or a list of files.
        class_names: the run's classes (the spec's labels are all `UNLABELED`).

    Returns:
        A `DataSpec` of the images, every label -1.

    Raises:
        ValueError: no images, or a kind of data this does not read.

    Example:
        >>> unlabeled_spec("unlabeled_photos/", ["cat", "dog", "fox"]).labels[:3]
        array([-1, -1, -1])
    """
    from keras_transfer.serving.loading import collect_images

    if isinstance(data, tuple) and len(data) == 2 and hasattr(data[0], "shape"):
        data = data[0]
    if isinstance(data, np.ndarray):
        if data.ndim not in (3, 4) or len(data) == 0:
            raise ValueError(f"unlabeled_data as an array must be images (N, H, W[, C]) with N > 0, got shape "
                             f"{data.shape}.")
        images = data[..., None] if data.ndim == 3 else data
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        return DataSpec(class_names=list(class_names), labels=np.full(len(images), UNLABELED), images=images,
                        source="<unlabeled array>")
    if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data
                                                and all(isinstance(item, (str, os.PathLike)) for item in data)):
        files = collect_images([data] if isinstance(data, (str, os.PathLike)) else list(data))
        if not files:
            raise ValueError(f"No images found in unlabeled_data {data!r}.")
        return DataSpec(class_names=list(class_names), labels=np.full(len(files), UNLABELED),
                        paths=np.array([str(Path(file)) for file in files]), source=str(data))
    raise ValueError(f"unlabeled_data must be an image array (N, H, W, C), a folder or a list of image files; got "
                     f"{type(data).__name__}.")
