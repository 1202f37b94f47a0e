"""`DataSpec`: a labelled image collection (files, pixel arrays or a tf.data.Dataset) before it becomes a pipeline.

Example:
    >>> from keras_transfer.data.spec import DataSpec
    >>> spec = DataSpec(class_names=["cat", "dog"], labels=np.array([0, 1]), images=np.zeros((2, 8, 8, 3)))
    >>> spec.num_classes
    2
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf


@dataclass
class DataSpec:
    """A labelled image collection, before it becomes a `tf.data` pipeline.

    Exactly one of `paths`, `images` or `dataset` holds the images.

    Attributes:
        class_names: the classes (labels, for multi-label), in index order.
        labels: int class ids (N,), or multi-hot float32 (N, K) for multi-label.
        multi_label: whether an image may have several labels.
        paths: image file paths (N,).
        images: pixel arrays (N, H, W, C), C in 1/3/4.
        dataset: an unbatched `tf.data.Dataset` of `(image, label)`; the image
            is pixels, or encoded bytes when `encoded` is True.
        encoded: `dataset` yields encoded image bytes (TFDS without decoding).
        source: where the data came from (for the config and the report).
        skipped: files left out, as `{"path", "reason", "detail"}` dicts.
        notes: report-only remarks on kept files, as `{"path", "kind", "detail"}` dicts.
        shard_files: the TFRecord files `dataset` reads, in order (shards: workers can split them by file);
            None for other sources and for any subset.

    Example:
        >>> spec = DataSpec(class_names=["cat", "dog"], labels=np.array([0, 1, 1]), paths=np.array(files))
        >>> len(spec), spec.class_counts()
        (3, {'cat': 1, 'dog': 2})
    """

    class_names: list[str]
    labels: np.ndarray
    multi_label: bool = False
    paths: np.ndarray | None = None
    images: np.ndarray | None = None
    dataset: tf.data.Dataset | None = None
    encoded: bool = False
    source: str = ""
    skipped: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    shard_files: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        """How many classes (labels, for multi-label) there are."""
        return len(self.class_names)

    def class_counts(self) -> dict[str, int]:
        """Images per class (per label, for multi-label)."""
        if self.multi_label:
            totals = np.asarray(self.labels).sum(axis=0)
            return {name: int(total) for name, total in zip(self.class_names, totals)}
        counts = np.bincount(np.asarray(self.labels, dtype=np.int64), minlength=self.num_classes)
        return {name: int(count) for name, count in zip(self.class_names, counts)}

    def subset(self, indices: np.ndarray) -> DataSpec:
        """The spec restricted to `indices` (in that order)."""
        indices = np.asarray(indices, dtype=np.int64)
        changes = {"labels": self.labels[indices], "shard_files": None}
        if self.paths is not None:
            changes["paths"] = self.paths[indices]
        if self.images is not None:
            changes["images"] = self.images[indices]
        if self.dataset is not None:
            mask = np.zeros(len(self), dtype=bool)
            mask[indices] = True
            keep = tf.constant(mask)
            changes["dataset"] = (
                self.dataset.enumerate().filter(lambda i, _: tf.gather(keep, i)).map(lambda _, element: element)
            )
        return dataclasses.replace(self, **changes)
