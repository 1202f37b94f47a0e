"""tf.data and TFDS: a `tf.data.Dataset` of `(image, label)`, or a `"tfds:<name>"` dataset → `DataSpec`.

Example:
    >>> from keras_transfer.data.tf_data import from_tf_dataset
    >>> spec = from_tf_dataset(tf.data.Dataset.from_tensor_slices((images, labels)))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_transfer.data.labels import check_classes, encode_labels
from keras_transfer.data.spec import DataSpec


def from_tf_dataset(
    dataset: tf.data.Dataset,
    class_names: Sequence[str] | None = None,
    role: str = "training",
    encoded: bool | None = None,
    source: str = "tf.data",
) -> DataSpec:
    """A `tf.data.Dataset` of `(image, label)` (batched or not) → `DataSpec`.

    The labels are read in one pass (for class counts and the stratified
    split); the images are read only when the pipeline runs.

    Args:
        dataset: yields `(image, label)` pairs or `{"image", "label"}` dicts; the
            image is pixels or encoded bytes, the label a class id, a name, or a
            one-hot or multi-hot row.
        class_names: the class order (default: the sorted names, or "0".."K-1").
        role: "training", "validation", ... (for error messages).
        encoded: whether the images are encoded bytes (default: when their dtype is tf.string).
        source: what to call the data in the report.

    Returns:
        A `DataSpec` holding the unbatched dataset, with int64 class ids (or multi-hot rows).

    Raises:
        ValueError: for elements that are not image-label pairs, an empty dataset, or out-of-range ids.

    Example:
        >>> spec = from_tf_dataset(tf.data.Dataset.from_tensor_slices((images, labels)).batch(32))
        >>> len(spec) == len(labels)
        True
    """
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if not {"image", "label"} <= set(spec):
            raise ValueError(f"A dataset of dicts needs 'image' and 'label' keys; it has {sorted(spec)}.")
        dataset = dataset.map(lambda e: (e["image"], e["label"]))
        spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError(f"A {role} tf.data.Dataset must yield (image, label) pairs; its elements are {spec}.")
    image_spec = spec[0]
    if encoded is None:
        encoded = image_spec.dtype == tf.string
    if (encoded and image_spec.shape.rank == 1) or (not encoded and image_spec.shape.rank == 4):
        dataset = dataset.unbatch()
    labels = np.array(list(dataset.map(lambda _, label: label).as_numpy_iterator()))
    if labels.size == 0:
        raise ValueError(f"The {role} tf.data.Dataset is empty.")
    if labels.ndim == 2 and labels.shape[1] > 1:
        names = list(class_names) if class_names else [str(i) for i in range(labels.shape[1])]
        if (labels.sum(axis=1) == 1).all():
            labels, multi = labels.argmax(axis=1), False
            dataset = dataset.map(lambda image, label: (image, tf.argmax(label, output_type=tf.int64)))
        else:
            labels, multi = labels.astype(np.float32), True
    else:
        labels = labels.reshape(-1)
        multi = False
        if labels.dtype.kind in "SUO":
            raw = [v.decode() if isinstance(v, bytes) else str(v) for v in labels]
            labels, names = encode_labels(raw, class_names, role)
            table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(tf.constant(names), tf.range(len(names), dtype=tf.int64)), -1)
            dataset = dataset.map(lambda image, label: (image, table.lookup(label)))
        else:
            labels = labels.astype(np.int64)
            names = list(class_names) if class_names else [str(i) for i in range(int(labels.max()) + 1)]
            if labels.min() < 0 or labels.max() >= len(names):
                raise ValueError(f"{role.capitalize()} labels must be class ids in 0..{len(names) - 1}; "
                                 f"got values {labels.min()}..{labels.max()}.")
    spec_out = DataSpec(class_names=list(names), labels=labels, multi_label=multi, dataset=dataset,
                        encoded=bool(encoded), source=source)
    return check_classes(spec_out, role, given=bool(class_names))


def from_tfds(name: str, class_names: Sequence[str] | None = None, data_dir: str | None = None) -> DataSpec:
    """`"tfds:<name>[:<split>]"` → `DataSpec`, images kept encoded until the pipeline decodes them.

    Uses `tfds.load` (which downloads and prepares the dataset on first use).

    Args:
        name: `"tfds:<name>"` (split "train") or `"tfds:<name>:<split>"`.
        class_names: the class order (default: the dataset's label names).
        data_dir: where TFDS keeps its data (default: its own).

    Returns:
        A `DataSpec` of encoded images.

    Raises:
        RuntimeError: when TFDS cannot load the dataset.

    Example:
        >>> from_tfds("tfds:tf_flowers").class_names[:2]
        ['dandelion', 'daisy']
    """
    import tensorflow_datasets as tfds

    parts = name.split(":", 2)
    dataset_name = parts[1]
    split = parts[2] if len(parts) > 2 else "train"
    try:
        dataset, info = tfds.load(dataset_name, split=split, as_supervised=True, with_info=True, data_dir=data_dir,
                                  decoders={"image": tfds.decode.SkipDecoding()})
    except Exception as error:
        raise RuntimeError(
            f"Could not load TFDS dataset {dataset_name!r} (split {split!r}): {error}. Check the name with "
            "tfds.list_builders(); without internet, prepare it first where you have one and pass data_dir."
        ) from error
    label_feature = info.features[info.supervised_keys[1]]
    names = class_names or list(getattr(label_feature, "names", []) or [])
    return from_tf_dataset(dataset, class_names=names or None, encoded=True, source=name)
