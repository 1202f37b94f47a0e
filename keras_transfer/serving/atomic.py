"""Atomic folder writes: a folder is written under a temporary name beside its target, then renamed into place.

A failed write never leaves a half-written folder, and never damages the
folder it would replace: an existing target is moved aside, and deleted only
once the new folder is in place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from keras_transfer.serving.inference import METADATA_FILE


def check_target(target: Path, overwrite: bool) -> None:
    """Refuses a target that exists (without `overwrite`) or that is not a previous export.

    Args:
        target: the export folder to create or replace.
        overwrite: an existing export (a folder holding `keras_transfer.json`)
            may be replaced.

    Returns:
        None, when `target` may be written.

    Raises:
        FileExistsError: `target` is a file, exists without `overwrite`, or is
            a non-empty folder that is not a keras_transfer export.

    Example:
        >>> check_target(Path("exports/shapes"), overwrite=True)
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise FileExistsError(f"{target} exists and is a file, not an export folder: choose another directory.")
    is_export = (target / METADATA_FILE).is_file()
    is_empty = not any(target.iterdir())
    if not overwrite and not is_empty:
        raise FileExistsError(
            f"The export folder {target} already exists: pass overwrite=True to replace it, "
            "or export to another directory."
        )
    if not (is_export or is_empty):
        raise FileExistsError(
            f"{target} exists and is not a keras_transfer export (no {METADATA_FILE}); refusing to replace it, "
            "even with overwrite=True. Choose a new or empty directory."
        )


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """A staging folder beside `target`, moved to `target` when the block ends without an error.

    Args:
        target: the folder to create (or replace, see `commit_directory`);
            its parent is created.

    Returns:
        A context manager that yields the empty staging folder. When the block
        (or the move) fails, the staging folder is deleted and `target` is
        left as it was.

    Example:
        >>> with atomic_directory(Path("exports/shapes")) as staging:
        ...     (staging / "labels.txt").write_text("cat\\ndog\\n")
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    # mkdtemp makes the folder 0700; the export is for servers that may run as another user, so it gets the
    # mode any mkdir would give it under the process's umask.
    staging.chmod(0o777 & ~current_umask())
    try:
        yield staging
        commit_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def commit_directory(staging: Path, target: Path) -> None:
    """Moves the finished `staging` folder to `target`, replacing an existing one safely.

    An existing `target` is first renamed aside; if the new folder cannot be
    moved in, the old one is put back. The old folder is deleted only once the
    new one is in place.

    Args:
        staging: the finished folder.
        target: where it goes (on the same filesystem).

    Returns:
        None; `staging` is now at `target`.

    Example:
        >>> commit_directory(Path("exports/.shapes.tmp-x1"), Path("exports/shapes"))
    """
    if not target.exists():
        _rename(staging, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()
    _rename(target, backup)
    try:
        _rename(staging, target)
    except BaseException:
        _rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def relocate(path: Path, staging: Path, target: Path) -> Path:
    """Where `path`, written inside the staging folder, is once that folder has been moved to `target`.

    Args:
        path: a path inside `staging`.
        staging: the staging folder.
        target: the folder it became.

    Returns:
        The same relative path inside `target`.

    Example:
        >>> relocate(Path("out/.a.tmp-1/tflite/m.tflite"), Path("out/.a.tmp-1"), Path("out/a"))
        PosixPath('out/a/tflite/m.tflite')
    """
    return target / path.relative_to(staging)


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it for longer than one call).

    Returns:
        The umask, e.g. `0o022`.

    Example:
        >>> oct(current_umask())
        '0o22'
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _rename(source: Path, destination: Path) -> None:
    """Renames a folder (atomic within one filesystem)."""
    os.replace(source, destination)
