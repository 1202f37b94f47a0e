"""Turns any supported data source into a `DataSpec`: what the images are, their labels and class names.

Sources: a folder with a sub-folder per class; a pandas DataFrame or CSV file
with a file-path and a label column; `(images, labels)` numpy arrays;
`(paths, labels)` lists; a `tf.data.Dataset` of `(image, label)`; a TFDS name
(`"tfds:tf_flowers"` or `"tfds:name:split"`); a flow from
`keras_transfer.ImageDataGenerator`. `split_spec` makes the stratified, seeded
validation split.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_transfer.data.images import CONVERTIBLE_EXTENSIONS, IMAGE_EXTENSIONS

PATH_COLUMNS = ("filename", "file", "path", "filepath", "image", "image_path", "file_path")
LABEL_COLUMNS = ("label", "labels", "class", "category", "target", "tags", "y")


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

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
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
        changes = {"labels": self.labels[indices]}
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


def load_data(
    data,
    *,
    validation_data=None,
    validation_split: float = 0.2,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    path_column: str | None = None,
    label_column: str | None = None,
    label_delimiter: str = "|",
    directory: str | os.PathLike | None = None,
    scan: bool = True,
    strict: bool = False,
    max_pixels: int | None = None,
) -> tuple[DataSpec, DataSpec | None]:
    """Reads training (and validation) data from any supported source.

    Args:
        data: a folder, CSV path, DataFrame, `(x, y)` arrays, `(paths, labels)`,
            `tf.data.Dataset`, `"tfds:name[:split]"` or an ImageDataGenerator flow.
        validation_data: the same kinds; default: split off `data`.
        validation_split: the share of `data` held out (stratified, seeded)
            when `validation_data` is None; 0 for none.
        seed: seed of the split.
        class_names: the class order (default: sorted label values, a
            folder's sorted sub-folders, or the TFDS label names).
        path_column, label_column: DataFrame/CSV columns (default: found by name).
        label_delimiter: separates several labels in one string (multi-label).
        directory: base folder for relative paths in a DataFrame/CSV (default:
            the CSV's folder, else the working directory).
        scan: check every image file decodes before training (see
            `keras_transfer.scan.scan_files`): broken files are skipped and
            listed in `DataSpec.skipped`, files only Pillow reads are converted.
        strict: raise on the first broken file instead of skipping it.
        max_pixels: the largest image (width × height) accepted, against
            decompression bombs (default: Pillow's limit, about 89 megapixels).

    Returns:
        `(train_spec, validation_spec or None)`.

    Example:
        >>> train, val = load_data("photos/", validation_split=0.2, seed=0)
        >>> train.class_names
        ['cat', 'dog']
    """
    options = dict(path_column=path_column, label_column=label_column, label_delimiter=label_delimiter,
                   directory=directory, scan=scan, strict=strict, max_pixels=max_pixels)
    train = to_spec(data, class_names=class_names, **options)
    if validation_data is not None:
        validation = to_spec(validation_data, class_names=train.class_names, role="validation", **options)
        if validation.multi_label != train.multi_label:
            raise ValueError("Training data is " + ("multi-label" if train.multi_label else "single-label")
                             + " but validation data is not: give both the same kind of labels.")
        return train, validation
    if not validation_split:
        return train, None
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")
    return split_spec(train, validation_split, seed)


def to_spec(
    data,
    *,
    class_names: Sequence[str] | None = None,
    role: str = "training",
    path_column: str | None = None,
    label_column: str | None = None,
    label_delimiter: str = "|",
    directory: str | os.PathLike | None = None,
    scan: bool = True,
    strict: bool = False,
    max_pixels: int | None = None,
) -> DataSpec:
    """One source → `DataSpec` (see `load_data` for the kinds and arguments)."""
    spec = _to_spec(data, class_names=class_names, role=role, path_column=path_column, label_column=label_column,
                    label_delimiter=label_delimiter, directory=directory, scan=scan)
    if scan and spec.paths is not None and not spec.skipped and not spec.notes:
        spec = scan_spec(spec, strict=strict, max_pixels=max_pixels, role=role)
    return spec


def scan_spec(spec: DataSpec, strict: bool = False, max_pixels: int | None = None, role: str = "training") -> DataSpec:
    """Checks the spec's image files up front; drops broken ones (listed in `skipped`), uses converted copies.

    Raises:
        CorruptImageError: with `strict=True`, on the first broken file.
        ValueError: when no file of the spec is usable.
    """
    from keras_transfer.data.scan import DEFAULT_MAX_PIXELS, scan_files

    result = scan_files(list(spec.paths), max_pixels=max_pixels or DEFAULT_MAX_PIXELS, strict=strict,
                        progress=len(spec) > 2000)
    if not result.kept_indices:
        raise ValueError(f"None of the {len(spec)} {role} image files can be decoded, e.g. "
                         f"{result.skipped[0]['path']}: {result.skipped[0]['reason']}.")
    kept = spec.subset(np.asarray(result.kept_indices))
    return dataclasses.replace(kept, paths=np.array(result.paths, dtype=object),
                               skipped=list(spec.skipped) + list(result.skipped),
                               notes=list(spec.notes) + list(result.notes))


def _to_spec(data, *, class_names, role, path_column, label_column, label_delimiter, directory, scan) -> DataSpec:
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        return _relabel(flow.spec, class_names, role) if class_names else flow.spec
    if isinstance(data, DataSpec):
        return _relabel(data, class_names, role) if class_names else data
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        if text.startswith("tfds:"):
            return from_tfds(text, class_names=class_names)
        path = Path(text).expanduser()
        if path.is_dir():
            return from_folder(path, class_names=class_names, role=role, convertible=scan)
        if path.is_file() and path.suffix.lower() in (".csv", ".tsv", ".txt"):
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
            return from_dataframe(frame, path_column=path_column, label_column=label_column,
                                  label_delimiter=label_delimiter, directory=directory or path.parent,
                                  class_names=class_names, role=role, source=str(path))
        if not path.exists():
            raise FileNotFoundError(f"{role.capitalize()} data {text!r} does not exist: give a folder with a "
                                    "sub-folder per class, a CSV file, arrays or a 'tfds:<name>' dataset.")
        raise ValueError(f"{role.capitalize()} data {text!r} is a file but not a CSV: give a folder with a "
                         "sub-folder per class or a CSV with a path and a label column.")
    if isinstance(data, pd.DataFrame):
        return from_dataframe(data, path_column=path_column, label_column=label_column,
                              label_delimiter=label_delimiter, directory=directory,
                              class_names=class_names, role=role)
    if isinstance(data, tf.data.Dataset):
        return from_tf_dataset(data, class_names=class_names, role=role)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        if _is_path_list(x):
            frame = pd.DataFrame({"path": [os.fspath(p) for p in x], "label": list(y)})
            return from_dataframe(frame, path_column="path", label_column="label",
                                  label_delimiter=label_delimiter, directory=directory,
                                  class_names=class_names, role=role, source="paths")
        return from_arrays(x, y, class_names=class_names, role=role)
    if isinstance(data, np.ndarray):
        raise ValueError(f"{role.capitalize()} data is an array without labels: pass (images, labels).")
    raise TypeError(
        f"Unsupported {role} data of type {type(data).__name__}: give a folder, CSV path, DataFrame, "
        "(images, labels) arrays, (paths, labels), a tf.data.Dataset or 'tfds:<name>'."
    )


# --- folders, tables, arrays ---------------------------------------------------


def list_images(folder: Path, convertible: bool = False) -> list[Path]:
    """Image files below `folder` (recursive, sorted), by extension; hidden files skipped.

    With `convertible`, also the kinds the scan converts with Pillow (TIFF).
    """
    extensions = IMAGE_EXTENSIONS + (CONVERTIBLE_EXTENSIONS if convertible else ())
    return sorted(
        path for path in folder.rglob("*")
        if path.suffix.lower() in extensions and not path.name.startswith(".") and path.is_file()
    )


def from_folder(
    folder: Path, class_names: Sequence[str] | None = None, role: str = "training", convertible: bool = False
) -> DataSpec:
    """A folder with one sub-folder of images per class → `DataSpec`."""
    folder = Path(folder)
    found = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        loose = list_images(folder)
        detail = f" It holds {len(loose)} images directly;" if loose else ""
        raise ValueError(
            f"No class sub-folders in {folder}.{detail} put each class's images in a sub-folder named "
            f"after the class, e.g. {folder}/cat/001.jpg and {folder}/dog/001.jpg."
        )
    names = list(class_names) if class_names else found
    if class_names:
        unknown = sorted(set(found) - set(names))
        if unknown:
            raise ValueError(f"{role.capitalize()} folder {folder} has classes {unknown} that the training data "
                             f"does not have ({names}): remove them or add them to the training data.")
    paths, labels = [], []
    for index, name in enumerate(names):
        class_folder = folder / name
        if not class_folder.is_dir():
            continue  # a validation folder may lack a class
        images = list_images(class_folder, convertible)
        if not images:
            raise ValueError(
                f"Class folder {class_folder} has no images ({', '.join(IMAGE_EXTENSIONS)}): "
                "add images to it or remove the folder."
            )
        paths += [str(p) for p in images]
        labels += [index] * len(images)
    spec = DataSpec(class_names=names, labels=np.array(labels, np.int64), paths=np.array(paths, dtype=object),
                    source=str(folder))
    return _check_classes(spec, role, given=bool(class_names))


def from_dataframe(
    frame: pd.DataFrame,
    *,
    path_column: str | None = None,
    label_column: str | None = None,
    label_delimiter: str = "|",
    directory: str | os.PathLike | None = None,
    class_names: Sequence[str] | None = None,
    role: str = "training",
    source: str = "dataframe",
) -> DataSpec:
    """A table of image paths and labels → `DataSpec`.

    Multi-label rows hold a list of labels, or one string with labels joined
    by `label_delimiter`.
    """
    path_column = _find_column(frame, path_column, PATH_COLUMNS, "path", source)
    label_column = _find_column(frame, label_column, LABEL_COLUMNS, "label", source)
    if frame[label_column].isna().any():
        rows = frame.index[frame[label_column].isna()].tolist()[:5]
        raise ValueError(
            f"{source}: column {label_column!r} has empty labels (rows {rows}): fill them or drop the rows."
        )
    base = Path(directory) if directory is not None else Path.cwd()
    paths = [str(p if Path(p).is_absolute() else base / p) for p in frame[path_column].astype(str)]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"{source}: {len(missing)} of {len(paths)} rows point to files that do not exist, e.g. {missing[:3]}. "
            f"Relative paths are read from {base}: pass directory= for another base folder, or fix the rows."
        )
    raw = list(frame[label_column])
    multi = any(isinstance(v, (list, tuple, set, np.ndarray)) for v in raw) or any(
        isinstance(v, str) and label_delimiter and label_delimiter in v for v in raw
    )
    if multi:
        label_lists = [_as_label_list(v, label_delimiter) for v in raw]
        names, labels = _encode_multi_labels(label_lists, class_names, role)
    else:
        labels, names = encode_labels(raw, class_names, role)
    spec = DataSpec(class_names=names, labels=labels, multi_label=multi,
                    paths=np.array(paths, dtype=object), source=source)
    return _check_classes(spec, role, given=bool(class_names))


def from_arrays(images, labels, class_names: Sequence[str] | None = None, role: str = "training") -> DataSpec:
    """`(images, labels)` arrays → `DataSpec`.

    Images: (N, H, W), (N, H, W, 1), (N, H, W, 3) or (N, H, W, 4), pixels in
    0–255. Labels: (N,) ints or strings, (N, K) one-hot, or (N, K) multi-hot
    (multi-label).
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
    return _check_classes(spec, role, given=bool(class_names))


# --- tf.data and TFDS ----------------------------------------------------------


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
    return _check_classes(spec_out, role, given=bool(class_names))


def from_tfds(name: str, class_names: Sequence[str] | None = None, data_dir: str | None = None) -> DataSpec:
    """`"tfds:<name>[:<split>]"` → `DataSpec`, images kept encoded until the pipeline decodes them.

    Uses `tfds.load` (which downloads and prepares the dataset on first use).
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


# --- the split -------------------------------------------------------------------


def split_spec(spec: DataSpec, validation_split: float, seed: int = 0) -> tuple[DataSpec, DataSpec]:
    """Stratified, seeded split of `spec` into training and validation.

    Each class keeps `validation_split` of its images for validation (at least
    one when it has two or more). Multi-label data is split at random.
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


# --- labels ----------------------------------------------------------------------


def encode_labels(raw: Sequence, class_names: Sequence[str] | None, role: str = "training") -> tuple[np.ndarray, list]:
    """Label values → (class ids, class names).

    Without `class_names`, the names are the sorted distinct values. With them,
    values are matched by name; integer values that are not names are taken as
    class ids.
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


def _find_column(frame: pd.DataFrame, given: str | None, candidates, kind: str, source: str) -> str:
    if given is not None:
        if given not in frame.columns:
            raise ValueError(f"{source} has no column {given!r}: its columns are {list(frame.columns)}. "
                             f"Pass {kind}_column= with one of them.")
        return given
    lowered = {str(c).lower(): c for c in frame.columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    raise ValueError(f"{source} has no {kind} column (looked for {list(candidates)}); its columns are "
                     f"{list(frame.columns)}. Pass {kind}_column= to name it.")


def _is_path_list(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.ndim == 1 and x.dtype.kind in "OUS"
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(p, (str, os.PathLike)) for p in x)


def _relabel(spec: DataSpec, class_names: Sequence[str], role: str) -> DataSpec:
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


def _check_classes(spec: DataSpec, role: str, given: bool) -> DataSpec:
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


def summarize(train: DataSpec, validation: DataSpec | None) -> dict:
    """Counts and notes for the report: images per class, imbalance, skipped files."""
    counts = train.class_counts()
    positive = [c for c in counts.values() if c > 0]
    return {
        "source": train.source,
        "classes": list(train.class_names),
        "multi_label": train.multi_label,
        "train_size": len(train),
        "validation_size": len(validation) if validation is not None else 0,
        "train_counts": counts,
        "val_counts": validation.class_counts() if validation is not None else {},
        "imbalance_ratio": (max(positive) / min(positive)) if positive else None,
        "skipped": list(train.skipped) + (list(validation.skipped) if validation is not None else []),
        "notes": list(train.notes) + (list(validation.notes) if validation is not None else []),
    }

