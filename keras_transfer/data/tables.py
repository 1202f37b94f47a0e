"""Tables: a pandas DataFrame (or a CSV read into one) of image paths and labels → `DataSpec`.

Example:
    >>> from keras_transfer.data.tables import from_dataframe
    >>> spec = from_dataframe(pd.read_csv("photos/labels.csv"), directory="photos")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from keras_transfer.data.labels import check_classes, encode_table_labels
from keras_transfer.data.spec import DataSpec

PATH_COLUMNS = ("filename", "file", "path", "filepath", "image", "image_path", "file_path")
LABEL_COLUMNS = ("label", "labels", "class", "category", "target", "tags", "y")


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

    Args:
        frame: one row per image.
        path_column: the column of file paths (default: the first of `PATH_COLUMNS` found).
        label_column: the column of labels (default: the first of `LABEL_COLUMNS` found).
        label_delimiter: separates several labels in one string (multi-label).
        directory: base folder for relative paths (default: the working directory).
        class_names: the class order (default: the sorted label values).
        role: "training", "validation", ... (for error messages).
        source: what to call the table in messages and the report.

    Returns:
        A `DataSpec` of absolute or `directory`-based paths and their labels.

    Raises:
        ValueError: for a missing column, empty labels or unknown labels.
        FileNotFoundError: when rows point to files that do not exist.

    Example:
        >>> frame = pd.DataFrame({"filename": ["a.png", "b.png"], "label": ["cat", "dog"]})
        >>> from_dataframe(frame, directory="photos").class_names
        ['cat', 'dog']
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
    labels, names, multi = encode_table_labels(list(frame[label_column]), label_delimiter, class_names, role)
    spec = DataSpec(class_names=names, labels=labels, multi_label=multi,
                    paths=np.array(paths, dtype=object), source=source)
    return check_classes(spec, role, given=bool(class_names))


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
