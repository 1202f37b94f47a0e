"""The scan's cache: verdicts kept in SQLite by (absolute path, size, mtime), and where converted copies go.

Scanning the same folder again costs one `stat` a file. A verdict depends on
the settings too (`settings_key`: the scan version, `max_pixels`, the
TensorFlow and Pillow versions), so changing any of them checks files again.

Example:
    >>> store = ScanCache(default_cache_dir())
    >>> known = store.load(settings_key(89_478_485))
    >>> verdict, key = cached_verdict("photos/cat/001.jpg", known)
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
import warnings
from pathlib import Path

import PIL
import tensorflow as tf

from keras_transfer.data.file_check import FileCheck
from keras_transfer.data.scan_reasons import Reason

SCAN_VERSION = 1
"""Bumped when the rules change, so that older cached results are not reused."""

UNCACHED_REASONS = (Reason.UNREADABLE, Reason.MISSING, Reason.BROKEN_LINK)
"""Verdicts not cached: permissions can change, and files (or a link's target) turn up, without touching any mtime."""


def cached_verdict(path: str, known: dict[str, tuple[int, int, dict]]) -> tuple[FileCheck | None, tuple | None]:
    """The cached verdict on `path` if the file is unchanged, and the key to cache a new one under.

    Args:
        path: the file as given (the verdict names it so).
        known: what `ScanCache.load` returned.

    Returns:
        `(verdict or None, (absolute path, size, mtime_ns) or None when the file cannot be stat'ed)`. A verdict
        whose converted copy is gone is not used.

    Example:
        >>> verdict, key = cached_verdict("cat.jpg", store.load(settings))
    """
    absolute = os.path.abspath(path)
    try:
        info = os.stat(absolute)
    except OSError:
        return None, None
    key = (absolute, info.st_size, info.st_mtime_ns)
    entry = known.get(absolute)
    if entry is not None and entry[:2] == key[1:]:
        verdict = FileCheck.from_dict({**entry[2], "path": path})
        if verdict.converted_path is None or os.path.isfile(verdict.converted_path):
            return verdict, key
    return None, key


def settings_key(max_pixels: int) -> str:
    """Everything besides the file that the verdict depends on.

    Args:
        max_pixels: the scan's pixel limit.

    Returns:
        A string naming the scan version, `max_pixels` and the TensorFlow and Pillow versions.

    Example:
        >>> settings_key(1000)
        'v1;max_pixels=1000;tf=2.21.0;pillow=12.0.0'
    """
    return f"v{SCAN_VERSION};max_pixels={max_pixels};tf={tf.__version__};pillow={PIL.__version__}"


def default_cache_dir() -> Path:
    """`$KERAS_TRANSFER_CACHE_DIR/scan`, else `$XDG_CACHE_HOME/keras_transfer/scan`, else `~/.cache/...`.

    Returns:
        The folder `scan_files` caches in when given no `cache_dir`.

    Example:
        >>> default_cache_dir()
        PosixPath('/home/me/.cache/keras_transfer/scan')
    """
    root = os.environ.get("KERAS_TRANSFER_CACHE_DIR")
    if root:
        return Path(root) / "scan"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "keras_transfer" / "scan"


_temporary_dir_lock = threading.Lock()
_temporary_dir: Path | None = None


def temporary_conversion_dir() -> Path:
    """One temporary folder per process for converted copies when caching is off (kept: training reads it).

    Returns:
        The folder, made on the first call (and again if it was deleted).

    Example:
        >>> temporary_conversion_dir().name.startswith("keras_transfer_converted_")
        True
    """
    global _temporary_dir
    with _temporary_dir_lock:
        if _temporary_dir is None or not _temporary_dir.is_dir():
            _temporary_dir = Path(tempfile.mkdtemp(prefix="keras_transfer_converted_"))
        return _temporary_dir


class ScanCache:
    """Verdicts in an SQLite file, keyed by absolute path and the scan settings, checked against size and mtime.

    Attributes:
        folder: the cache folder.
        db_path: the SQLite file in it.
        conversion_dir: where converted PNG copies are written.

    Example:
        >>> store = ScanCache(default_cache_dir())
        >>> known = store.load(settings_key(max_pixels))
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.db_path = folder / "scan_cache.sqlite3"
        self.conversion_dir = folder / "converted"

    def load(self, settings: str) -> dict[str, tuple[int, int, dict]]:
        """Absolute path → (size, mtime_ns, verdict dict) for every file cached under `settings`."""
        if not self.db_path.exists():
            return {}
        try:
            with self._connect() as connection:
                rows = connection.execute(
                    "SELECT path, size, mtime_ns, result FROM verdicts WHERE settings = ?", (settings,)
                ).fetchall()
            return {path: (size, mtime_ns, _json_loads(result)) for path, size, mtime_ns, result in rows}
        except (sqlite3.Error, OSError, ValueError) as error:
            self._warn(error, "scanning every file")
            return {}

    def save(self, settings: str, rows: list[tuple[tuple, FileCheck]]) -> None:
        """Stores new verdicts (the path inside each verdict is not stored: the key's absolute path is)."""
        records = [
            (absolute, settings, size, mtime_ns, _json_dumps({**verdict.to_dict(), "path": ""}))
            for (absolute, size, mtime_ns), verdict in rows
        ]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._connect() as connection:
                connection.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)", records)
        except (sqlite3.Error, OSError) as error:
            self._warn(error, "results not saved")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.db_path, timeout=60)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS verdicts (path TEXT NOT NULL, settings TEXT NOT NULL, size INTEGER, "
            "mtime_ns INTEGER, result TEXT, PRIMARY KEY (path, settings))"
        )
        return connection

    def _warn(self, error: Exception, consequence: str) -> None:
        warnings.warn(
            f"The image scan cache {self.db_path} is unusable ({error}); {consequence}. Delete that file, or pass "
            "cache_dir= a writable folder (or cache_dir=False to turn the cache off).",
            RuntimeWarning,
            stacklevel=4,
        )


def _json_dumps(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"))


def _json_loads(text: str) -> dict:
    return json.loads(text)

