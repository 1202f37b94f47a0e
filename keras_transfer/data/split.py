"""The validation split: stratified by class and seeded, so a rerun holds out the same images.

Example:
    >>> from keras_transfer.data.split import split_spec
    >>> train, val = split_spec(spec, 0.2, seed=0)
"""

from __future__ import annotations

import numpy as np

from keras_transfer.data.spec import DataSpec


def split_spec(spec: DataSpec, validation_split: float, seed: int = 0) -> tuple[DataSpec, DataSpec]:
    """Stratified, seeded split of `spec` into training and validation.

    Each class keeps `validation_split` of its images for validation (at least
    one when it has two or more). Multi-label data is split at random.

    Args:
        spec: the data to split.
        validation_split: the share held out, in (0, 1).
        seed: the seed of the shuffle.

    Returns:
        `(training spec, validation spec)`, each in the original order.

    Raises:
        ValueError: when either part would be empty.

    Example:
        >>> train, val = split_spec(spec, 0.25, seed=0)
        >>> len(train) + len(val) == len(spec)
        True
    """
    rng = np.random.default_rng(seed)
    if spec.multi_label:
        order = rng.permutation(len(spec))
        count = max(1, int(round(validation_split * len(spec))))
        val_idx, train_idx = order[:count], order[count:]
    else:
        val_parts, train_parts = [], []
        for label in range(spec.num_classes):
            members = np.flatnonzero(spec.labels == label)
            members = members[rng.permutation(len(members))]
            count = int(round(validation_split * len(members)))
            if len(members) >= 2:
                count = min(max(count, 1), len(members) - 1)
            else:
                count = 0
            val_parts.append(members[:count])
            train_parts.append(members[count:])
        val_idx = np.sort(np.concatenate(val_parts))
        train_idx = np.sort(np.concatenate(train_parts))
    if len(val_idx) == 0 or len(train_idx) == 0:
        raise ValueError(f"validation_split={validation_split} of {len(spec)} images leaves an empty "
                         "training or validation set: add images or change validation_split.")
    return spec.subset(train_idx), spec.subset(val_idx)
