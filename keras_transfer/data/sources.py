"""Turns any supported data source into a `DataSpec`: what the images are, their labels and class names.

Sources: a folder with a sub-folder per class; a pandas DataFrame or CSV file
with a file-path and a label column; `(images, labels)` numpy arrays;
`(paths, labels)` lists; a `tf.data.Dataset` of `(image, label)`; TFRecord shards `write_shards` wrote
(their folder or manifest, on any `tf.io.gfile` path); a TFDS name
(`"tfds:tf_flowers"` or `"tfds:name:split"`); a flow from
`keras_transfer.ImageDataGenerator`. `split_spec` makes the stratified, seeded
validation split.

Each kind of source has a module of its own: `folders`, `tables`,
`arrays`, `tf_data`; `spec` holds `DataSpec`, `labels` the label encoding,
`split` the validation split and `summary` the report's counts. Their public
names import from here too.

Example:
    >>> from keras_transfer.data.sources import load_data
    >>> train, val = load_data("photos/", validation_split=0.2, seed=0)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_transfer.data.arrays import from_arrays
from keras_transfer.data.folders import from_folder, list_images
from keras_transfer.data.labels import encode_labels, relabel
from keras_transfer.data.shards import from_shards, is_shard_path
from keras_transfer.data.spec import DataSpec
from keras_transfer.data.split import split_spec
from keras_transfer.data.summary import summarize
from keras_transfer.data.tables import LABEL_COLUMNS, PATH_COLUMNS, from_dataframe
from keras_transfer.data.tf_data import from_tf_dataset, from_tfds

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "LABEL_COLUMNS", "PATH_COLUMNS", "DataSpec", "encode_labels", "from_arrays", "from_dataframe", "from_folder",
    "from_tf_dataset", "from_tfds", "list_images", "load_data", "scan_spec", "split_spec", "summarize", "to_spec",
]  # fmt: skip


class SourceOptions(TypedDict, total=False):
    """How a source is read and checked: the keyword arguments `load_data` passes on to `to_spec`.

    `to_spec`'s signature holds the defaults; `load_data` documents each one.

    Example:
        >>> options: SourceOptions = {"label_column": "species", "strict": True}
        >>> train, val = load_data("labels.csv", **options)
    """

    path_column: str | None
    label_column: str | None
    label_delimiter: str
    directory: str | os.PathLike | None
    scan: bool
    strict: bool
    max_pixels: int | None


def load_data(
    data,
    *,
    validation_data=None,
    validation_split: float = 0.2,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    **options: Unpack[SourceOptions],
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
        **options: how each source is read and checked (`SourceOptions`,
            passed on to `to_spec`):
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
    """One source → `DataSpec`, its files scanned (see `load_data` for the kinds and arguments).

    Args:
        data: any source `load_data` takes.
        class_names: the class order (validation data: the training classes).
        role: "training", "validation", ... (for error messages).
        path_column, label_column, label_delimiter, directory, scan, strict,
            max_pixels: as for `load_data` (`SourceOptions`).

    Returns:
        The `DataSpec`.

    Example:
        >>> to_spec("photos/val", class_names=["cat", "dog"], role="validation").class_counts()
        {'cat': 10, 'dog': 9}
    """
    spec = _to_spec(data, class_names=class_names, role=role, path_column=path_column, label_column=label_column,
                    label_delimiter=label_delimiter, directory=directory, scan=scan)
    if scan and spec.paths is not None and not spec.skipped and not spec.notes:
        spec = scan_spec(spec, strict=strict, max_pixels=max_pixels, role=role)
    return spec


def scan_spec(spec: DataSpec, strict: bool = False, max_pixels: int | None = None, role: str = "training") -> DataSpec:
    """Checks the spec's image files up front; drops broken ones (listed in `skipped`), uses converted copies.

    Args:
        spec: a spec of file paths.
        strict: raise on the first broken file instead of skipping it.
        max_pixels: the largest image (width × height) accepted (default: `scan.DEFAULT_MAX_PIXELS`).
        role: "training", "validation", ... (for error messages).

    Returns:
        The spec without the broken files, converted files replaced by their PNG copies, the scan's
        skipped files and notes added to its own.

    Raises:
        CorruptImageError: with `strict=True`, on the first broken file.
        ValueError: when no file of the spec is usable.

    Example:
        >>> spec = scan_spec(from_folder(Path("photos"), convertible=True))
        >>> [entry["reason"] for entry in spec.skipped]
        ['truncated_or_corrupt']
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
        return relabel(flow.spec, class_names, role) if class_names else flow.spec
    if isinstance(data, DataSpec):
        return relabel(data, class_names, role) if class_names else data
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        if text.startswith("tfds:"):
            return from_tfds(text, class_names=class_names)
        if is_shard_path(text):  # a folder keras_transfer.write_shards wrote (local, gs://, ram://), or its manifest
            return from_shards(text, class_names=class_names, role=role)
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


def _is_path_list(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.ndim == 1 and x.dtype.kind in "OUS"
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(p, (str, os.PathLike)) for p in x)
