"""Labels: values → class ids or multi-hot rows, renumbering to the training classes, and the class checks.

Example:
    >>> from keras_transfer.data.labels import encode_labels
    >>> encode_labels([0, 2, 1], ["cat", "dog", "bird"])
    (array([0, 2, 1]), ['cat', 'dog', 'bird'])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from keras_transfer.data.spec import DataSpec


def encode_labels(raw: Sequence, class_names: Sequence[str] | None, role: str = "training") -> tuple[np.ndarray, list]:
    """Label values → (class ids, class names).

    Without `class_names`, the names are the sorted distinct values. With them,
    values are matched by name; integer values that are not names are taken as
    class ids.

    Args:
        raw: one label value per image (strings or integers).
        class_names: the class order to use; None: the sorted distinct values.
        role: "training", "validation", ... (for error messages).

    Returns:
        `(int64 class ids (N,), class names)`.

    Raises:
        ValueError: for NaN labels, or labels that are not among `class_names`.

    Example:
        >>> encode_labels(["dog", "cat", "dog"], None)
        (array([1, 0, 1]), ['cat', 'dog'])
    """
    values = [v.item() if isinstance(v, np.generic) else v for v in raw]
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        raise ValueError(f"{role.capitalize()} labels contain NaN: fill or drop those rows.")
    if class_names is None:
        distinct = sorted(set(values), key=lambda v: (isinstance(v, str), v))
        names = [str(v) for v in distinct]
        index = {v: i for i, v in enumerate(distinct)}
        return np.array([index[v] for v in values], np.int64), names
    names = list(class_names)
    index = {name: i for i, name in enumerate(names)}
    as_ids = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values) and \
        not all(str(v) in index for v in values)
    if as_ids:
        bad = sorted({v for v in values if not 0 <= v < len(names)})
        if bad:
            raise ValueError(f"{role.capitalize()} labels {bad[:5]} are not class ids of {names}.")
        return np.array(values, np.int64), names
    unknown = sorted({str(v) for v in values if str(v) not in index})
    if unknown:
        raise ValueError(
            f"{role.capitalize()} labels {unknown[:5]} are not among the training classes {names}: "
            "fix the labels, or add those classes to the training data."
        )
    return np.array([index[str(v)] for v in values], np.int64), names

def encode_table_labels(
    raw: Sequence, delimiter: str, class_names: Sequence[str] | None, role: str = "training"
) -> tuple[np.ndarray, list[str], bool]:
    """A table column of labels → (labels, class names, multi_label).

    The column is multi-label when a row holds a list of labels, or a string
    with labels joined by `delimiter`; then the labels are multi-hot.

    Args:
        raw: the column's values, one per image.
        delimiter: separates several labels in one string.
        class_names: the class order to use; None: the sorted distinct values.
        role: "training", "validation", ... (for error messages).

    Returns:
        `(int64 class ids (N,) or multi-hot float32 (N, K), class names, whether multi-label)`.

    Example:
        >>> labels, names, multi = encode_table_labels(["sky|sea", "sea"], "|", None)
        >>> names, multi, labels.tolist()
        (['sea', 'sky'], True, [[1.0, 1.0], [1.0, 0.0]])
    """
    multi = any(isinstance(v, (list, tuple, set, np.ndarray)) for v in raw) or any(
        isinstance(v, str) and delimiter and delimiter in v for v in raw
    )
    if multi:
        label_lists = [_as_label_list(v, delimiter) for v in raw]
        names, labels = _encode_multi_labels(label_lists, class_names, role)
    else:
        labels, names = encode_labels(raw, class_names, role)
    return labels, names, multi


def _encode_multi_labels(label_lists, class_names, role):
    names = list(class_names) if class_names else sorted({str(v) for labels in label_lists for v in labels})
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(v) for labels in label_lists for v in labels if str(v) not in index})
    if unknown:
        raise ValueError(f"{role.capitalize()} labels {unknown[:5]} are not among the training labels {names}.")
    multi_hot = np.zeros((len(label_lists), len(names)), np.float32)
    for row, labels in enumerate(label_lists):
        for value in labels:
            multi_hot[row, index[str(value)]] = 1.0
    return names, multi_hot


def _as_label_list(value, delimiter: str) -> list[str]:
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value).split(delimiter) if part.strip()]



def relabel(spec: DataSpec, class_names: Sequence[str], role: str) -> DataSpec:
    """The spec with its labels renumbered to the order of `class_names` (the training classes).

    Args:
        spec: a spec whose classes are all among `class_names`.
        class_names: the order to use.
        role: "validation", ... (for error messages).

    Returns:
        The spec itself when the order already matches, else a copy with new labels and class names.

    Raises:
        ValueError: when the spec has a class not in `class_names`, or is a tf.data spec in another order.

    Example:
        >>> relabel(validation_spec, train_spec.class_names, "validation").class_names == train_spec.class_names
        True
    """
    if list(spec.class_names) == list(class_names):
        return spec
    unknown = [name for name in spec.class_names if name not in class_names]
    if unknown:
        raise ValueError(
            f"{role.capitalize()} classes {unknown} are not among the training classes {list(class_names)}."
        )
    mapping = np.array([list(class_names).index(name) for name in spec.class_names])
    if spec.multi_label:
        labels = np.zeros((len(spec), len(class_names)), np.float32)
        labels[:, mapping] = spec.labels
    else:
        labels = mapping[spec.labels]
    if spec.dataset is not None:
        raise ValueError(f"{role.capitalize()} tf.data classes differ in order from training: pass class_names.")
    return dataclasses.replace(spec, class_names=list(class_names), labels=labels)


def check_classes(spec: DataSpec, role: str, given: bool) -> DataSpec:
    """Refuses an empty spec, and training data with fewer than two classes (unless the classes were given).

    Args:
        spec: a freshly read spec.
        role: "training", "validation", ...
        given: whether the caller named the classes (then a class may be absent).

    Returns:
        `spec`, unchanged.

    Raises:
        ValueError: for no images, or one class only in training data.

    Example:
        >>> spec = check_classes(DataSpec(class_names=names, labels=labels, paths=paths), "training", given=False)
    """
    if len(spec) == 0:
        raise ValueError(f"No {role} images found in {spec.source or 'the data'}.")
    if role == "training" and not given:
        present = [name for name, count in spec.class_counts().items() if count > 0]
        if len(present) < 2:
            raise ValueError(
                f"The {role} data has {len(present)} class ({present}); a classifier needs at least two. "
                "Add a second class (another sub-folder or label value)."
            )
    return spec

