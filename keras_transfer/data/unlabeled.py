"""Unlabeled images from any source: a folder of images, a list of paths, an array, a tf.data of images.

Domain adaptation's target images and distillation's unlabeled images are read
here, the one reader for images without labels. Labelled sources (a folder
with class sub-folders, `(images, labels)`, a CSV) are accepted too; their
labels are dropped, so a run never trains on them. Every label is set to the
caller's placeholder (domain adaptation: 0, never read; distillation: -1,
"no label", which its packed targets rely on).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.data.folders import list_images
from keras_transfer.data.images import IMAGE_EXTENSIONS
from keras_transfer.data.sources import DataSpec, scan_spec, to_spec


def _with_label(spec: DataSpec, class_names: Sequence[str], label: int, role: str) -> DataSpec:
    """The same images with every label set to `label`."""
    labels = np.full(len(spec), label, np.int64)
    dataset = None if spec.dataset is None else \
        spec.dataset.map(lambda image, _label: (image, tf.constant(label, tf.int64)))
    return DataSpec(class_names=list(class_names), labels=labels, paths=spec.paths, images=spec.images,
                    dataset=dataset, encoded=spec.encoded, source=spec.source or role, skipped=spec.skipped,
                    notes=spec.notes)


def unlabeled_images(data: Any, class_names: Sequence[str], *, option: str = "unlabeled data", label: int = 0,
                     scan: bool = True, strict: bool = False, max_pixels: int | None = None) -> DataSpec:
    """Reads images without labels into a `DataSpec` whose labels are all `label`.

    Args:
        data: a folder of images (class sub-folders optional, searched recursively, hidden files skipped), a
            list of image paths, an image array (N, H, W[, C]), a `tf.data.Dataset` of images (or of
            (image, label): labels dropped), `(images, labels)` / `(paths, labels)` (labels dropped), or a CSV.
        class_names: the run's classes (the spec's class list).
        option: the option's name, for error messages (`"target_data"`, `"unlabeled_data"`).
        label: the placeholder every image gets.
        scan, strict, max_pixels: as for the training data (files are checked and broken ones skipped).

    Returns:
        The `DataSpec`.

    Raises:
        ValueError: no images, or a kind of data it cannot read.

    Example:
        >>> spec = unlabeled_images("scanner_b/", ["0", "1"], option="target_data")
        >>> set(spec.labels)
        {0}
    """
    role = option.removesuffix("_data")
    if data is None:
        raise ValueError(f"{option} is missing: give the images (a folder, a list of files or an array).")
    if isinstance(data, (str, os.PathLike)) and Path(data).is_dir():
        data = [str(path) for path in list_images(Path(data))]
        if not data:
            raise ValueError(f"The {option} folder has no images ({', '.join(IMAGE_EXTENSIONS)}): give a folder "
                             "of image files.")
    if isinstance(data, (list, tuple)) and data and all(isinstance(item, (str, os.PathLike)) for item in data):
        spec = DataSpec(class_names=list(class_names), labels=np.full(len(data), label, np.int64),
                        paths=np.asarray([os.fspath(item) for item in data]), source=f"{option} paths")
        return scan_spec(spec, strict=strict, max_pixels=max_pixels, role=role) if scan else spec
    if isinstance(data, np.ndarray):
        if data.ndim not in (3, 4) or len(data) == 0:
            raise ValueError(f"{option} as an array must be images (N, H, W[, C]) with N > 0, got shape "
                             f"{data.shape}.")
        data = (data, np.zeros(len(data), np.int64))
    elif isinstance(data, tf.data.Dataset) and not isinstance(data.element_spec, tuple):
        data = data.map(lambda image: (image, tf.constant(0, tf.int64)))
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], (str, os.PathLike)) \
            and hasattr(data[0], "__len__"):
        data = (data[0], np.zeros(len(data[0]), np.int64))
    if not isinstance(data, (tuple, tf.data.Dataset, str, os.PathLike)):
        raise ValueError(f"{option} must be a folder, a list of image files, an image array (N, H, W[, C]), a "
                         f"tf.data.Dataset of images or a CSV; got {type(data).__name__}.")
    spec = to_spec(data, class_names=None, role=role, scan=scan, strict=strict, max_pixels=max_pixels)
    if len(spec) == 0:
        raise ValueError(f"{option} holds no images.")
    return _with_label(spec, class_names, label, role)
