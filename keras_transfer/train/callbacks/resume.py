"""Resuming a killed run: after every epoch the model, its optimizer and the plan's progress are saved.

`build_and_fit(..., output_dir=D)` keeps `D/resume/`; `build_and_fit(...,
output_dir=D, resume=True)` continues from the last completed epoch of the
current stage, with the same optimizer state, and finishes the plan. Every file
is written to a temporary name and renamed, so a kill never leaves a
half-written checkpoint; `state.json` is written last, so it only ever names
files that are complete.

The folder is any `tf.io.gfile` path: a local folder, or a bucket (`gs://...`)
that every worker of a multi-worker run reads. (A bucket's rename is a copy:
the state written last is what keeps a half-copied file from being used.)
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import uuid
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.serialization import is_remote
from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"


class ResumeCheckpoint(keras.callbacks.Callback):
    """Saves what `resume=True` needs after every epoch (run it after `StagedUnfreeze`).

    Args:
        folder: the resume folder.
        staged: the plan's callback, whose progress is saved.
        extra: JSON-able data saved beside it (e.g. stages run before the plan).
    """

    def __init__(self, folder: str | os.PathLike, staged: StagedUnfreeze, extra: Mapping | None = None):
        super().__init__()
        self.folder = os.fspath(folder)
        self.staged = staged
        self.extra = dict(extra or {})

    def on_epoch_end(self, epoch, logs=None):
        tf.io.gfile.makedirs(self.folder)
        _atomic(join_path(self.folder, MODEL_FILE), lambda path: self.model.save(path))
        for name, weights in self.staged.weights_to_keep().items():
            target = join_path(self.folder, f"{name}.npz")
            if weights is None:
                if tf.io.gfile.exists(target):
                    tf.io.gfile.remove(target)
            else:
                _atomic(target, lambda path, w=weights: _write_bytes(path, _npz_bytes(w)))
        state = {"epoch": epoch, "plan": self.staged.get_state(), **self.extra}
        _atomic(join_path(self.folder, STATE_FILE), lambda path: _write_bytes(path, json.dumps(state).encode()))


def load_resume_state(folder: str | os.PathLike) -> dict | None:
    """The saved progress in `folder`, or None when there is nothing to resume."""
    path = join_path(folder, STATE_FILE)
    if not tf.io.gfile.exists(path) or not tf.io.gfile.exists(join_path(folder, MODEL_FILE)):
        return None
    with tf.io.gfile.GFile(path, "rb") as handle:
        return json.loads(handle.read())


def load_resume_model(folder: str | os.PathLike) -> keras.Model:
    """The model saved at the last completed epoch, with its optimizer state (loaded in safe mode)."""
    return keras.saving.load_model(join_path(folder, MODEL_FILE), safe_mode=True)


def load_kept_weights(folder: str | os.PathLike) -> dict[str, list | None]:
    """The saved stage-best and overall-best weights (None where none was saved)."""
    kept = {}
    for name in ("stage_best", "overall_best"):
        path = join_path(folder, f"{name}.npz")
        if tf.io.gfile.exists(path):
            with tf.io.gfile.GFile(path, "rb") as handle, np.load(io.BytesIO(handle.read()),
                                                                   allow_pickle=False) as arrays:
                kept[name] = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        else:
            kept[name] = None
    return kept


def _atomic(target: str, write) -> None:
    """Writes `target` through a temporary name beside it, then renames it into place (any gfile path)."""
    folder, name = posixpath.split(target) if is_remote(target) else os.path.split(target)
    stem, suffix = os.path.splitext(name)
    partial = join_path(folder, f".{stem}-{uuid.uuid4().hex[:8]}{suffix}")
    try:
        write(partial)
        tf.io.gfile.rename(partial, target, overwrite=True)
    finally:
        if tf.io.gfile.exists(partial):
            tf.io.gfile.remove(partial)


def join_path(folder: str | os.PathLike, name: str) -> str:
    """`folder/name` for local paths and `scheme://` ones alike (`pathlib` would turn `gs://b` into `gs:/b`)."""
    folder = os.fspath(folder)
    return posixpath.join(folder, name) if is_remote(folder) else os.path.join(folder, name)


def _npz_bytes(arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    return buffer.getvalue()


def _write_bytes(path: str, data: bytes) -> None:
    with tf.io.gfile.GFile(path, "wb") as handle:
        handle.write(data)
