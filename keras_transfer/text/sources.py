"""Text data: a CSV, a DataFrame, (texts, labels) lists or a tf.data of (string, label) -> `TextSpec`.

A `TextSpec` is a `DataSpec` (class names, labels, multi-label, counts,
`subset`, the stratified split) that holds its texts instead of images, so
the recipe's splitting, class weights, losses and summaries apply unchanged.

Example:
    >>> train, validation = load_text_data("reviews.csv", text_column="review", label_column="sentiment")
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_transfer.data.labels import check_classes, encode_table_labels
from keras_transfer.data.spec import DataSpec
from keras_transfer.data.split import split_spec
from keras_transfer.data.tables import LABEL_COLUMNS

TEXT_COLUMNS = ("text", "texts", "sentence", "review", "document", "content", "body")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


@dataclass
class TextSpec(DataSpec):
    """Labelled texts: a `DataSpec` whose items are strings.

    Attributes:
        texts: the texts (N,), an object array of `str`.
        undecodable: indices of texts that were not valid UTF-8 (decoded with replacement characters).
    """

    texts: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    undecodable: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: np.ndarray) -> TextSpec:
        """The spec restricted to `indices` (in that order)."""
        indices = np.asarray(indices, dtype=np.int64)
        position = {int(old): new for new, old in enumerate(indices)}
        return dataclasses.replace(self, labels=self.labels[indices], texts=self.texts[indices],
                                   undecodable=[position[i] for i in self.undecodable if i in position])


def load_text_data(
    data,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    label_delimiter: str = "|",
    validation_data=None,
    validation_split: float = 0.0,
    class_names: Sequence[str] | None = None,
    seed: int = 0,
) -> tuple[TextSpec, TextSpec | None]:
    """Loads labelled texts for training, and the validation part.

    Args:
        data: a CSV/TSV path (`.bz2`/`.gz` compressed too), a pandas DataFrame,
            `(texts, labels)`, or a `tf.data.Dataset` of `(string, label)`.
        text_column: the table column of the texts (default: the first of `TEXT_COLUMNS` found).
        label_column: the table column of the labels (default: found by name, as for images).
        label_delimiter: separates several labels in one cell (multi-label).
        validation_data: same kinds as `data` (default: a split of `data`).
        validation_split: the stratified share held out when `validation_data` is None.
        class_names: fixes the class order.
        seed: the split's seed.

    Returns:
        `(training TextSpec, validation TextSpec or None)`.

    Raises:
        ValueError: a missing column, no texts, or labels that do not match.

    Example:
        >>> train, val = load_text_data((["a great film", "dull"], ["pos", "neg"]), validation_split=0)
        >>> train.class_names
        ['neg', 'pos']
    """
    train = text_spec(data, text_column=text_column, label_column=label_column, label_delimiter=label_delimiter,
                      class_names=class_names)
    if validation_data is not None:
        validation = text_spec(validation_data, text_column=text_column, label_column=label_column,
                               label_delimiter=label_delimiter, class_names=train.class_names, role="validation")
        return train, validation
    if validation_split:
        return split_spec(train, validation_split, seed=seed)
    return train, None


def text_spec(data, *, text_column: str | None = None, label_column: str | None = None,
              label_delimiter: str = "|", class_names: Sequence[str] | None = None,
              role: str = "training") -> TextSpec:
    """One labelled text set (see `load_text_data` for the kinds of `data`).

    Returns:
        The `TextSpec`.

    Example:
        >>> len(text_spec(pd.DataFrame({"text": ["good", "bad"], "label": [1, 0]})))
        2
    """
    if isinstance(data, (str, os.PathLike)):
        frame, source = read_table(data), str(data)
    elif isinstance(data, pd.DataFrame):
        frame, source = data, "dataframe"
    elif isinstance(data, tf.data.Dataset):
        frame, source = _dataset_frame(data), "tf.data"
    elif isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], str):
        texts, labels = data
        if len(texts) != len(labels):
            raise ValueError(f"{role} data: {len(texts)} texts but {len(labels)} labels; give one label per text.")
        frame, source = pd.DataFrame({"text": list(texts), "label": list(labels)}), "lists"
    else:
        raise TypeError(f"Text data must be a CSV path, a DataFrame, (texts, labels) or a tf.data.Dataset of "
                        f"(string, label); got {type(data).__name__}.")
    if len(frame) == 0:
        raise ValueError(f"{role} data ({source}) has no rows: give at least one labelled text per class.")
    text_column = find_column(frame, text_column, TEXT_COLUMNS, "text", source)
    label_column = find_column(frame, label_column, LABEL_COLUMNS, "label", source)
    if frame[label_column].isna().any():
        rows = frame.index[frame[label_column].isna()].tolist()[:5]
        raise ValueError(f"{source}: column {label_column!r} has empty labels (rows {rows}): fill them or drop "
                         "the rows.")
    texts, undecodable = decode_texts(frame[text_column].tolist())
    labels, names, multi = encode_table_labels(list(frame[label_column]), label_delimiter, class_names, role)
    spec = TextSpec(class_names=names, labels=labels, multi_label=multi, texts=texts, undecodable=undecodable,
                    source=source)
    return check_classes(spec, role, given=bool(class_names))


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV/TSV/TAB file (optionally .bz2/.gz/.xz/.zip compressed) as a DataFrame of strings and labels."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No text table at {path}: give a CSV/TSV path, a DataFrame or (texts, labels).")
    suffixes = [suffix for suffix in path.suffixes if suffix in TABLE_SUFFIXES]
    separator = TABLE_SUFFIXES[suffixes[-1]] if suffixes else ","
    return pd.read_csv(path, sep=separator, keep_default_na=False, na_values=[], encoding_errors="replace")


def find_column(frame: pd.DataFrame, given: str | None, candidates: Sequence[str], kind: str, source: str) -> str:
    """The column to read: the one given (checked to exist), else the first candidate name found."""
    columns = [str(column) for column in frame.columns]
    if given is not None:
        if given not in columns:
            flag = "text_column" if kind == "text" else "label_column"
            raise ValueError(f"{source}: no column {given!r} for the {kind}s; the columns are {columns}. Pass "
                             f"{flag}= with one of them.")
        return given
    lowered = {column.lower(): column for column in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    flag = "text_column" if kind == "text" else "label_column"
    raise ValueError(f"{source}: cannot tell which column holds the {kind}s (none is named {list(candidates)}); "
                     f"the columns are {columns}. Pass {flag}=.")


def decode_texts(values: Sequence) -> tuple[np.ndarray, list[int]]:
    """Texts as `str` (bytes decoded as UTF-8 with replacement), and the indices that were not valid UTF-8.

    Missing values (None, NaN) become empty strings, which the data checks report.
    """
    texts, undecodable = [], []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = value.decode("utf-8", errors="replace")
                undecodable.append(index)
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            value = ""
        value = str(value)
        if "\ufffd" in value and index not in undecodable:
            undecodable.append(index)
        texts.append(value)
    return np.array(texts, dtype=object), undecodable


def texts_of(data) -> list[str]:
    """Raw texts for prediction: one string, a list/array of strings, or a tf.data of strings."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, tf.data.Dataset):
        return [item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)
                for item in data.unbatch().as_numpy_iterator()] if _is_batched(data) else [
            item.decode("utf-8", errors="replace") for item in data.as_numpy_iterator()]
    return [str(item) for item in decode_texts(list(data))[0]]


def _dataset_frame(dataset: tf.data.Dataset) -> pd.DataFrame:
    """A tf.data of `(string, label)` pairs (batched or not) as a two-column DataFrame."""
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError("A text tf.data.Dataset must yield (text, label) pairs; for prediction give the texts "
                         "alone.")
    if _is_batched(dataset):
        dataset = dataset.unbatch()
    texts, labels = [], []
    for text, label in dataset.as_numpy_iterator():
        texts.append(text)
        labels.append(label.item() if np.ndim(label) == 0 else list(np.flatnonzero(label)))
    return pd.DataFrame({"text": texts, "label": labels})


def _is_batched(dataset: tf.data.Dataset) -> bool:
    spec = dataset.element_spec
    first = spec[0] if isinstance(spec, tuple) else spec
    return first.shape.rank is not None and first.shape.rank >= 1
