"""Resuming a killed run: after every epoch the model, its optimizer and the plan's progress are saved.

`build_and_fit(..., output_dir=D)` keeps `D/resume/`; `build_and_fit(...,
output_dir=D, resume=True)` continues from the last completed epoch of the
current stage, with the same optimizer state, and finishes the plan. Every file
is written to a temporary name and renamed, so a kill never leaves a
half-written checkpoint.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np

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
        self.folder = Path(folder)
        self.staged = staged
        self.extra = dict(extra or {})

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic(self.folder / MODEL_FILE, lambda path: self.model.save(path))
        for name, weights in self.staged.weights_to_keep().items():
            target = self.folder / f"{name}.npz"
            if weights is None:
                target.unlink(missing_ok=True)
            else:
                _atomic(target, lambda path, w=weights: np.savez(path, *w))
        state = {"epoch": epoch, "plan": self.staged.get_state(), **self.extra}
        _atomic(self.folder / STATE_FILE, lambda path: Path(path).write_text(json.dumps(state)))


def load_resume_state(folder: str | os.PathLike) -> dict | None:
    """The saved progress in `folder`, or None when there is nothing to resume."""
    path = Path(folder) / STATE_FILE
    if not path.exists() or not (Path(folder) / MODEL_FILE).exists():
        return None
    return json.loads(path.read_text())


def load_resume_model(folder: str | os.PathLike) -> keras.Model:
    """The model saved at the last completed epoch, with its optimizer state (loaded in safe mode)."""
    return keras.saving.load_model(Path(folder) / MODEL_FILE, safe_mode=True)


def load_kept_weights(folder: str | os.PathLike) -> dict[str, list | None]:
    """The saved stage-best and overall-best weights (None where none was saved)."""
    kept = {}
    for name in ("stage_best", "overall_best"):
        path = Path(folder) / f"{name}.npz"
        if path.exists():
            with np.load(path, allow_pickle=False) as arrays:
                kept[name] = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        else:
            kept[name] = None
    return kept


def _atomic(target: Path, write) -> None:
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=target.suffix)
    os.close(handle)
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
