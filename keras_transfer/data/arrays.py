"""Arrays: `(images, labels)` numpy arrays → `DataSpec`.

Example:
    >>> from keras_transfer.data.arrays import from_arrays
    >>> from_arrays(np.zeros((4, 32, 32, 3), "uint8"), [0, 1, 0, 1]).class_names
    ['0', '1']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_transfer.data.labels import check_classes, encode_labels
from keras_transfer.data.spec import DataSpec


def from_arrays(images, labels, class_names: Sequence[str] | None = None, role: str = "training") -> DataSpec:
    """`(images, labels)` arrays → `DataSpec`.

    Args:
        images: (N, H, W), (N, H, W, 1), (N, H, W, 3) or (N, H, W, 4), pixels in 0–255.
        labels: (N,) ints or strings, (N, K) one-hot, or (N, K) multi-hot (multi-label).
        class_names: the class order (default: the sorted label values, or "0".."K-1" for columns).
        role: "training", "validation", ... (for error messages).

    Returns:
        A `DataSpec` holding the pixels (N, H, W, C).

    Raises:
        ValueError: for a wrong shape or dtype, NaN pixels or labels, or a label count that does not match.

    Example:
        >>> from_arrays(np.zeros((4, 8, 8)), ["dog", "cat", "dog", "cat"]).images.shape
        (4, 8, 8, 1)
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{role.capitalize()} images must be an array of shape (N, H, W), (N, H, W, 1), (N, H, W, 3) or "
            f"(N, H, W, 4); got shape {images.shape}."
        )
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        count = int((~np.isfinite(images)).sum())
        raise ValueError(f"{role.capitalize()} images contain {count} NaN or infinite values: clean or drop them.")
    if images.dtype.kind not in "fiub":
        raise ValueError(f"{role.capitalize()} images must be numeric pixels (0–255), got dtype {images.dtype}.")
    labels = np.asarray(labels)
    if len(labels) != len(images):
        raise ValueError(f"{role.capitalize()} data has {len(images)} images but {len(labels)} labels: "
                         "give one label per image.")
    if labels.ndim == 2 and labels.shape[1] > 1:
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise ValueError(f"{role.capitalize()} labels contain NaN or infinite values.")
        names = list(class_names) if class_names else [str(i) for i in range(labels.shape[1])]
        if len(names) != labels.shape[1]:
            raise ValueError(f"{labels.shape[1]} label columns but {len(names)} class names.")
        is_one_hot = np.isin(labels, (0, 1)).all() and (labels.sum(axis=1) == 1).all()
        if is_one_hot:
            spec = DataSpec(class_names=names, labels=labels.argmax(axis=1).astype(np.int64), images=images,
                            source="arrays")
        else:
            spec = DataSpec(class_names=names, labels=labels.astype(np.float32), multi_label=True,
                            images=images, source="arrays")
    else:
        encoded, names = encode_labels(labels.reshape(-1).tolist(), class_names, role)
        spec = DataSpec(class_names=names, labels=encoded, images=images, source="arrays")
    return check_classes(spec, role, given=bool(class_names))
