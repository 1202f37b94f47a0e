"""Exports in a bucket (`gs://`, or any `tf.io.gfile` path that is not local): written, marked complete, loaded.

A bucket has no atomic folder rename, so an export is written to a local staging folder as usual, then
copied file by file, and `EXPORT_COMPLETE` is written last: a reader that finds no such file is looking at
a copy still under way or one that stopped, and `load()` refuses it. Loading copies the folder down to a
local temporary folder first (TensorFlow could read the SavedModel in place, but the metadata, labels and
TFLite files are read as local files).

Example:
    >>> export(model, "gs://bucket/exports/shapes", class_names=names)   # staging, upload, marker last
    >>> load("gs://bucket/exports/shapes")
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path

import tensorflow as tf

from keras_transfer.serialization import is_remote

__all__ = ["COMPLETE_FILE", "download_folder", "is_remote", "upload_folder"]

COMPLETE_FILE = "EXPORT_COMPLETE"


def upload_folder(local: Path, remote: str, overwrite: bool) -> list[str]:
    """Copies the finished export `local` to `remote`, writing `EXPORT_COMPLETE` last.

    Args:
        local: the export folder on this machine.
        remote: the target (`gs://bucket/path`).
        overwrite: replace an export already at `remote` (its marker is deleted first, so a reader never
            takes the half-replaced folder for a complete one).

    Returns:
        The files copied (relative paths), the marker last.

    Raises:
        FileExistsError: something is at `remote` and `overwrite` is False.
    """
    if tf.io.gfile.exists(remote) and tf.io.gfile.listdir(remote):
        if not overwrite:
            raise FileExistsError(f"The export folder {remote} already exists: pass overwrite=True to replace it, "
                                  "or export to another path.")
        marker = posixpath.join(remote, COMPLETE_FILE)
        if tf.io.gfile.exists(marker):
            tf.io.gfile.remove(marker)
        tf.io.gfile.rmtree(remote)
    copied = []
    for file in sorted(path for path in local.rglob("*") if path.is_file()):
        relative = file.relative_to(local).as_posix()
        destination = posixpath.join(remote, relative)
        tf.io.gfile.makedirs(posixpath.dirname(destination))
        tf.io.gfile.copy(str(file), destination, overwrite=True)
        copied.append(relative)
    with tf.io.gfile.GFile(posixpath.join(remote, COMPLETE_FILE), "w") as handle:
        handle.write(f"{len(copied)} files\n")
    return [*copied, COMPLETE_FILE]


def check_complete(remote: str) -> None:
    """Refuses a remote export without its completion marker.

    Raises:
        FileNotFoundError: nothing at `remote`.
        ValueError: `remote` holds files but no `EXPORT_COMPLETE`.
    """
    if not tf.io.gfile.exists(remote):
        raise FileNotFoundError(f"No export folder at {remote}: check the path (export with keras_transfer.export).")
    if not tf.io.gfile.exists(posixpath.join(remote, COMPLETE_FILE)):
        raise ValueError(f"{remote} is an incomplete export: it has no {COMPLETE_FILE}, which is written last, so "
                         "its copy is still under way or stopped part-way (a bucket has no atomic rename). Wait "
                         "for the writer, or export again.")


def download_folder(remote: str) -> Path:
    """A complete remote export copied to a new local temporary folder (`check_complete` first)."""
    check_complete(remote)
    local = Path(tempfile.mkdtemp(prefix="keras_transfer_export_"))
    for folder, _, files in tf.io.gfile.walk(remote):
        relative = posixpath.relpath(folder, remote.rstrip("/"))
        for name in files:
            target = local / relative / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tf.io.gfile.copy(posixpath.join(folder, name), str(target), overwrite=True)
    return local
