"""Unlabeled target images from any source: a folder of images, a list of paths, an array, a tf.data of images.

Domain adaptation reads the target's pixels only. Labelled sources (a folder
with class sub-folders, `(images, labels)`, a CSV) are accepted too; their
labels are dropped, so a run never trains on them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.data.images import IMAGE_EXTENSIONS
from keras_transfer.data.sources import DataSpec, scan_spec, to_spec

ROLE = "target"


def _image_files(folder: Path) -> list[str]:
    """Every image under `folder` (sub-folders included), sorted."""
    return sorted(str(path) for path in folder.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS
                  and path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _unlabeled(spec: DataSpec, class_names: Sequence[str]) -> DataSpec:
    """The same images with every label set to 0 (a placeholder the adaptation never reads)."""
    labels = np.zeros(len(spec), np.int64)
    dataset = spec.dataset.map(lambda image, _label: (image, tf.constant(0, tf.int64))) if spec.dataset is not None \
        else None
    return DataSpec(class_names=list(class_names), labels=labels, paths=spec.paths, images=spec.images,
                    dataset=dataset, encoded=spec.encoded, source=spec.source or ROLE, skipped=spec.skipped,
                    notes=spec.notes)


def load_unlabeled(data: Any, class_names: Sequence[str], *, scan: bool = True, strict: bool = False,
                   max_pixels: int | None = None) -> DataSpec:
    """Reads unlabeled target images into a `DataSpec` whose labels are placeholders (all 0).

    Args:
        data: a folder of images (class sub-folders optional), a list of image paths, an image array
            (N, H, W[, C]), a `tf.data.Dataset` of images (or of (image, label), labels dropped),
            `(images, labels)` / `(paths, labels)` (labels dropped), or a CSV.
        class_names: the source's classes (the spec's class list).
        scan, strict, max_pixels: as for the training data.

    Returns:
        The `DataSpec`.

    Raises:
        ValueError: no images, or a kind of data it cannot read.

    Example:
        >>> target = load_unlabeled("scanner_b/", ["0", "1"])
        >>> len(target)
        120
    """
    if data is None:
        raise ValueError("Domain adaptation needs target_data=: the unlabeled images of the target domain.")
    if isinstance(data, (str, os.PathLike)) and Path(data).is_dir():
        data = _image_files(Path(data))
        if not data:
            raise ValueError(f"target_data folder has no images ({', '.join(IMAGE_EXTENSIONS)}): give a folder of "
                             "the target domain's images.")
    if isinstance(data, (list, tuple)) and data and all(isinstance(item, (str, os.PathLike)) for item in data):
        spec = DataSpec(class_names=list(class_names), labels=np.zeros(len(data), np.int64),
                        paths=np.asarray([os.fspath(item) for item in data]), source="target paths")
        return scan_spec(spec, strict=strict, max_pixels=max_pixels, role=ROLE) if scan else spec
    if isinstance(data, np.ndarray):
        data = (data, np.zeros(len(data), np.int64))
    elif isinstance(data, tf.data.Dataset) and not isinstance(data.element_spec, tuple):
        data = data.map(lambda image: (image, tf.constant(0, tf.int64)))
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], (str, os.PathLike)):
        data = (data[0], np.zeros(len(data[0]), np.int64))
    spec = to_spec(data, class_names=None, role=ROLE, scan=scan, strict=strict, max_pixels=max_pixels)
    if len(spec) == 0:
        raise ValueError("target_data holds no images.")
    return _unlabeled(spec, class_names)
