"""One way to turn values into JSON and to read a settings file back.

Every JSON file the package writes (config.json, metrics.json, keras_transfer.json,
resume state) goes through `to_jsonable`; every config file it reads goes through
`read_settings`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """`value` as plain JSON data.

    NumPy scalars and arrays become numbers and lists, paths become strings,
    tuples and sets become lists, mapping keys become strings, and NaN or
    infinite floats become None (JSON has no NaN; a missing score reads as null).
    Anything else that is not JSON is written as its `str()`.

    Args:
        value: any value.

    Returns:
        A value `json.dumps` accepts with `allow_nan=False`.

    Example:
        >>> to_jsonable({"accuracy": np.float32(0.5), "loss": float("nan"), 1: (2, 3)})
        {'accuracy': 0.5, 'loss': None, '1': [2, 3]}
    """
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [to_jsonable(item) for item in value]
    return str(value)


def dumps(value: Any) -> str:
    """Indented JSON text of `to_jsonable(value)`."""
    return json.dumps(to_jsonable(value), indent=2, allow_nan=False)


def is_remote(path: str | os.PathLike) -> bool:
    """Whether `path` is a `scheme://` path (`gs://`, `s3://`, `ram://`, `file://`): written through `tf.io.gfile`.

    The one rule every writer and reader of the package uses: `pathlib` cannot hold such a path (`gs://b`
    becomes `gs:/b`), and a bucket has no atomic rename. `file://` paths take the same road: `tf.io.gfile`
    reads and writes them as local files.

    Example:
        >>> is_remote("gs://bucket/run"), is_remote("runs/a")
        (True, False)
    """
    return "://" in os.fspath(path)


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Writes `value` as indented JSON, atomically (a reader never sees half a file); folders are created.

    Args:
        path: the file.
        value: anything `to_jsonable` takes.

    Returns:
        The path.

    Example:
        >>> write_json("runs/a/metrics.json", {"accuracy": np.float32(0.9)})
        PosixPath('runs/a/metrics.json')
    """
    if is_remote(path):  # a bucket (gs://...): written through tf.io.gfile in one write
        return _write_remote(os.fspath(path), dumps(value))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dumps(value), encoding="utf-8")
    os.replace(partial, path)
    return path


def _write_remote(path: str, text: str) -> str:
    import posixpath

    import tensorflow as tf

    tf.io.gfile.makedirs(posixpath.dirname(path))
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(text)
    return path


def write_settings(path: str | os.PathLike, value: Mapping[str, Any]) -> Path:
    """Writes a settings mapping as JSON, or YAML for a `.yaml`/`.yml` path (atomically).

    Args:
        path: the file.
        value: the settings.

    Returns:
        The path.
    """
    if is_remote(path) or Path(path).suffix.lower() not in (".yaml", ".yml"):
        return write_json(path, value)
    path = Path(path)
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(yaml.safe_dump(to_jsonable(value), sort_keys=False), encoding="utf-8")
    os.replace(partial, path)
    return path


def read_settings(path: str | os.PathLike, what: str = "config") -> dict[str, Any]:
    """Reads a JSON file, or YAML for `.yaml`/`.yml`, that must hold a mapping.

    Args:
        path: the file.
        what: what the file is, for error messages (e.g. `"config"`).

    Returns:
        The mapping.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not valid JSON/YAML, or holds no mapping.

    Example:
        >>> read_settings("runs/photos/config.json")["backbone"]
        'efficientnetv2b0'
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No {what} file at {path}: give the config.json an earlier run wrote.")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            settings = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not valid YAML: {error}") from None
    else:
        try:
            settings = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path} must hold a mapping of settings, not {type(settings).__name__}.")
    return settings
