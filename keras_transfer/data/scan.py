"""Checks image files up front, so that one bad file cannot crash training mid-epoch.

The training pipeline decodes every file inside tf.data with
`keras_transfer.images.decode_image`, i.e. `tf.io.decode_image(bytes,
channels=3, expand_animations=False)`. `scan_files` runs that same decoder on
every file first, in parallel, and sorts each file into one of three outcomes:

- `"ok"`: TensorFlow decodes it. The file is used as it is.
- `"converted"`: TensorFlow cannot decode it but Pillow decodes it completely
  (a TIFF, a 1-bit BMP, an animated WebP, a PNG without its end chunk, ...).
  An RGB PNG copy is written to a conversion folder and used instead.
- `"skipped"`: neither can, or it is too big; the reason is one of `Reason`.

Image sizes are read from the file header before anything is decoded, so a
"decompression bomb" (a small file that claims billions of pixels) is skipped
without allocating its pixels. Results are cached by (absolute path, size,
modification time), so scanning the same folder again costs one `stat` a file.

Example:
    >>> from keras_transfer.data.scan import scan_files
    >>> result = scan_files(sorted(Path("photos").rglob("*.jpg")))
    >>> print(result.summary())
    >>> dataset = tf.data.Dataset.from_tensor_slices(result.paths)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import struct
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import PIL
import tensorflow as tf
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from keras_transfer.data.images import decode_pixels

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's default decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`): about 9459 x 9459."""

SCAN_VERSION = 1
"""Bumped when the rules change, so that older cached results are not reused."""


class Status:
    """What the scan decided for a file."""

    OK = "ok"
    CONVERTED = "converted"
    SKIPPED = "skipped"


class Reason:
    """Why a file was skipped (`FileCheck.reason`)."""

    ZERO_BYTE = "zero_byte"
    NOT_AN_IMAGE = "not_an_image"
    CORRUPT = "truncated_or_corrupt"
    TOO_MANY_PIXELS = "too_many_pixels"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNREADABLE = "unreadable"
    MISSING = "missing"


class NoteKind:
    """Report-only remarks on a kept file (`FileCheck.notes`)."""

    WRONG_EXTENSION = "wrong_extension"
    ANIMATED = "animated"
    CONVERTED = "converted"


REASON_TEXT = {
    Reason.ZERO_BYTE: "empty file (0 bytes)",
    Reason.NOT_AN_IMAGE: "not an image",
    Reason.CORRUPT: "truncated or corrupt image",
    Reason.TOO_MANY_PIXELS: "too many pixels (possible decompression bomb)",
    Reason.UNSUPPORTED_FORMAT: "unsupported image format",
    Reason.UNREADABLE: "cannot be read",
    Reason.MISSING: "file not found",
}

NOTE_TEXT = {
    NoteKind.WRONG_EXTENSION: "content does not match the file extension",
    NoteKind.ANIMATED: "animated: only the first frame is used",
    NoteKind.CONVERTED: "TensorFlow cannot decode it: a PNG copy made with Pillow is used",
}

PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO", "AVIF")
"""Formats Pillow may convert. TGA and DIB are left out: having no signature, random bytes pass as them."""

_FORMAT_ALIASES = {"MPO": "JPEG", "DIB": "BMP"}
_EXTENSION_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".gif": "GIF",
    ".bmp": "BMP", ".dib": "BMP", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".ico": "ICO",
    ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM", ".pnm": "PPM", ".avif": "AVIF",
}  # fmt: skip
_UNCACHED_REASONS = (Reason.UNREADABLE, Reason.MISSING)  # permissions can change without touching mtime


class CorruptImageError(ValueError):
    """A file that cannot be used as an image, raised by `scan_files(..., strict=True)`.

    Attributes:
        path: the file.
        reason: a `Reason` value.
        detail: what exactly is wrong.
    """

    def __init__(self, check: FileCheck):
        self.path = check.path
        self.reason = check.reason
        self.detail = check.detail
        super().__init__(
            f"Bad image file {check.path!r}: {REASON_TEXT.get(check.reason, check.reason)} ({check.detail}). "
            "Fix or delete the file, or pass strict=False to skip bad files and get a report of them."
        )


@dataclass(frozen=True)
class FileCheck:
    """The scan's verdict on one file.

    Attributes:
        path: the file as given.
        status: a `Status` value: "ok", "converted" or "skipped".
        reason: a `Reason` value when skipped, else None.
        detail: a human explanation (why skipped, or why converted).
        format: the format found in the content ("JPEG", "PNG", ...), None if unknown.
        width, height: the size from the header, None if unknown.
        frames: the number of frames (animations), None if unknown.
        notes: report-only `(NoteKind, detail)` pairs.
        converted_path: the PNG copy to use instead of `path`, when converted.
    """

    path: str
    status: str
    reason: str | None = None
    detail: str = ""
    format: str | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    notes: tuple[tuple[str, str], ...] = ()
    converted_path: str | None = None

    @property
    def kept(self) -> bool:
        """True when the file (or its converted copy) can be used."""
        return self.status != Status.SKIPPED

    @property
    def usable_path(self) -> str | None:
        """The path the pipeline should read: the converted copy, the file itself, or None when skipped."""
        if not self.kept:
            return None
        return self.converted_path or self.path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (notes as lists); `FileCheck.from_dict` reverses it."""
        return {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "notes": [list(note) for note in self.notes],
            "converted_path": self.converted_path,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileCheck:
        """The `FileCheck` saved by `to_dict`."""
        values = dict(data)
        values["notes"] = tuple((kind, detail) for kind, detail in values.get("notes", ()))
        return cls(**values)


@dataclass(frozen=True)
class ScanResult:
    """What `scan_files` found.

    Attributes:
        paths: the usable paths in input order, skipped files left out and converted
            files replaced by their PNG copies. Feed these to the pipeline.
        kept_indices: for each entry of `paths`, its index in the input list
            (use it to pick the matching labels).
        skipped: `{"path", "reason", "detail"}` dicts for the files left out.
        notes: `{"path", "kind", "detail"}` dicts: report-only remarks on kept files.
        converted: original path → PNG copy, for converted files.
        checks: every `FileCheck`, in input order.
        from_cache: how many verdicts came from the cache instead of decoding.
    """

    paths: list[str]
    kept_indices: list[int]
    skipped: list[dict[str, str]]
    notes: list[dict[str, str]]
    converted: dict[str, str]
    checks: list[FileCheck] = field(repr=False)
    from_cache: int = 0

    @classmethod
    def from_checks(cls, checks: list[FileCheck], from_cache: int = 0) -> ScanResult:
        """Gathers per-file verdicts (in input order) into a result."""
        kept = [(index, check) for index, check in enumerate(checks) if check.kept]
        return cls(
            paths=[check.usable_path for _, check in kept],
            kept_indices=[index for index, _ in kept],
            skipped=[
                {"path": check.path, "reason": check.reason, "detail": check.detail}
                for check in checks
                if not check.kept
            ],
            notes=[
                {"path": check.path, "kind": kind, "detail": detail} for check in checks for kind, detail in check.notes
            ],
            converted={check.path: check.converted_path for _, check in kept if check.converted_path},
            checks=list(checks),
            from_cache=from_cache,
        )

    def summary(self, limit: int = 10) -> str:
        """A readable report: counts, then the skipped files, conversions and notes, grouped by kind.

        Args:
            limit: at most this many files listed per group.

        Returns:
            Text, one item a line.
        """
        lines = [
            f"Checked {len(self.checks)} image files: {len(self.paths)} usable "
            f"({len(self.converted)} converted to PNG), {len(self.skipped)} skipped, {len(self.notes)} notes"
            + (f"; {self.from_cache} verdicts from the cache." if self.from_cache else ".")
        ]
        skipped_groups = _group(self.skipped, "reason")
        for reason, entries in skipped_groups.items():
            lines.append(f"Skipped, {REASON_TEXT.get(reason, reason)} ({len(entries)}):")
            lines += _listing([f"{entry['path']}: {entry['detail']}" for entry in entries], limit)
        for kind, entries in _group(self.notes, "kind").items():
            lines.append(f"Note, {NOTE_TEXT.get(kind, kind)} ({len(entries)}):")
            lines += _listing([f"{entry['path']}: {entry['detail']}" for entry in entries], limit)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: counts, paths, kept_indices, skipped, notes, converted and every check."""
        return {
            "total": len(self.checks),
            "usable": len(self.paths),
            "from_cache": self.from_cache,
            "paths": list(self.paths),
            "kept_indices": list(self.kept_indices),
            "skipped": [dict(entry) for entry in self.skipped],
            "notes": [dict(entry) for entry in self.notes],
            "converted": dict(self.converted),
            "checks": [check.to_dict() for check in self.checks],
        }


def _group(entries: list[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for entry in entries:
        groups.setdefault(entry[key], []).append(entry)
    return groups


def _listing(lines: list[str], limit: int) -> list[str]:
    shown = [f"  {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more (see ScanResult.skipped / .notes)")
    return shown


# ---------------------------------------------------------------------------------------------------------------------
# Scanning many files


def scan_files(
    paths: Iterable[str | os.PathLike],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    strict: bool = False,
    cache_dir: str | os.PathLike | Literal[False] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ScanResult:
    """Checks that every file decodes, before training, and says which to use, convert or skip.

    Args:
        paths: the image files, in the order the labels are in.
        max_pixels: files whose header declares more pixels (width x height) are skipped
            without being decoded; an animated GIF whose frames together exceed it is
            converted (first frame only). Default: Pillow's decompression-bomb limit,
            about 9459 x 9459.
        strict: raise `CorruptImageError` on the first bad file (in input order)
            instead of skipping it.
        cache_dir: where verdicts are cached and converted copies written. None: the
            default (`$KERAS_TRANSFER_CACHE_DIR/scan`, else `~/.cache/keras_transfer/scan`).
            False: no cache; converted copies go to a new temporary folder.
        workers: threads checking files in parallel (None: `min(32, cpu count + 4)`).
        progress: show a progress bar (only on a terminal).

    Returns:
        A `ScanResult`: `paths` to use, `kept_indices`, `skipped`, `notes`, `converted`.

    Raises:
        CorruptImageError: with `strict=True`, for the first file that cannot be used.
        ValueError: for a bad `max_pixels` or `workers`.

    Example:
        >>> result = scan_files(files)
        >>> print(result.summary())
        >>> files = result.paths
        >>> labels = [labels[i] for i in result.kept_indices]
    """
    paths = [os.fspath(path) for path in paths]
    _check_arguments(max_pixels, workers)
    store = None if cache_dir is False else _ScanCache(Path(cache_dir) if cache_dir else default_cache_dir())
    conversion_dir = store.conversion_dir if store else _temporary_conversion_dir()
    settings = _settings_key(max_pixels)
    known = store.load(settings) if store else {}
    workers = workers or min(32, (os.cpu_count() or 1) + 4)

    def check(path: str) -> tuple[FileCheck, bool, tuple | None]:
        return _check_with_cache(path, known, max_pixels, conversion_dir)

    checks: list[FileCheck] = []
    hits = 0
    new_rows: list[tuple[tuple, FileCheck]] = []
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan_files")
    bar = tqdm(total=len(paths), desc="Checking images", unit="file", disable=None if progress else True)
    try:
        with warnings.catch_warnings():
            _quiet_pillow_warnings()
            for verdict, cached, key in pool.map(check, paths):
                bar.update()
                checks.append(verdict)
                hits += cached
                if key is not None and not cached:
                    new_rows.append((key, verdict))
                if strict and not verdict.kept:
                    raise CorruptImageError(verdict)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        if store and new_rows:
            store.save(settings, new_rows)
    return ScanResult.from_checks(checks, from_cache=hits)


def _quiet_pillow_warnings() -> None:
    """Pillow warns about each odd file it parses (corrupt TIFF tags, huge sizes); the scan reports those itself."""
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _check_arguments(max_pixels: int, workers: int | None) -> None:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive integer (width x height), got {max_pixels!r}.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (automatic), got {workers!r}.")


def _check_with_cache(
    path: str, known: dict[str, tuple[int, int, dict]], max_pixels: int, conversion_dir: Path
) -> tuple[FileCheck, bool, tuple | None]:
    """(verdict, whether it came from the cache, cache key (absolute path, size, mtime_ns) or None)."""
    absolute = os.path.abspath(path)
    try:
        info = os.stat(absolute)
    except OSError:
        return check_file(path, max_pixels=max_pixels, conversion_dir=conversion_dir), False, None
    key = (absolute, info.st_size, info.st_mtime_ns)
    entry = known.get(absolute)
    if entry is not None and entry[:2] == key[1:]:
        verdict = FileCheck.from_dict({**entry[2], "path": path})
        if verdict.converted_path is None or os.path.isfile(verdict.converted_path):
            return verdict, True, key
    verdict = check_file(path, max_pixels=max_pixels, conversion_dir=conversion_dir)
    return verdict, False, (None if verdict.reason in _UNCACHED_REASONS else key)


def _settings_key(max_pixels: int) -> str:
    """Everything besides the file that the verdict depends on."""
    return f"v{SCAN_VERSION};max_pixels={max_pixels};tf={tf.__version__};pillow={PIL.__version__}"


def default_cache_dir() -> Path:
    """`$KERAS_TRANSFER_CACHE_DIR/scan`, else `$XDG_CACHE_HOME/keras_transfer/scan`, else `~/.cache/...`."""
    root = os.environ.get("KERAS_TRANSFER_CACHE_DIR")
    if root:
        return Path(root) / "scan"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "keras_transfer" / "scan"


_temporary_dir_lock = threading.Lock()
_temporary_dir: Path | None = None


def _temporary_conversion_dir() -> Path:
    """One temporary folder per process for converted copies when caching is off (kept: training reads it)."""
    global _temporary_dir
    with _temporary_dir_lock:
        if _temporary_dir is None or not _temporary_dir.is_dir():
            _temporary_dir = Path(tempfile.mkdtemp(prefix="keras_transfer_converted_"))
        return _temporary_dir


class _ScanCache:
    """Verdicts in an SQLite file, keyed by absolute path and the scan settings, checked against size and mtime."""

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


# ---------------------------------------------------------------------------------------------------------------------
# Checking one file


def check_file(
    path: str | os.PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    conversion_dir: str | os.PathLike | None = None,
) -> FileCheck:
    """Decides whether one file is usable, must be converted, or must be skipped (no cache, no threads).

    Args:
        path: the file.
        max_pixels: larger images (by their header) are not decoded; see `scan_files`.
        conversion_dir: where a PNG copy is written when only Pillow decodes the file
            (None: a temporary folder for this process).

    Returns:
        A `FileCheck`. It never raises for a bad file: the verdict says what is wrong.

    Example:
        >>> check = check_file("cat.jpg")
        >>> check.status, check.reason
        ('ok', None)
    """
    path = os.fspath(path)
    try:
        data = _read_file(path)
    except OSError as error:
        return _skipped(path, *_read_error(error))
    if not data:
        return _skipped(path, Reason.ZERO_BYTE, "the file is empty (0 bytes), e.g. an interrupted copy or download")
    folder = Path(conversion_dir) if conversion_dir is not None else _temporary_conversion_dir()
    return _check_bytes(path, data, max_pixels, folder)


def _read_file(path: str) -> bytes:
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "it is a directory, not a file", path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"it is not a regular file (mode {stat.filemode(info.st_mode)})")
    with open(path, "rb") as stream:
        return stream.read()


def _read_error(error: OSError) -> tuple[str, str]:
    if isinstance(error, FileNotFoundError):
        return Reason.MISSING, "no such file (deleted or moved since it was listed?)"
    if isinstance(error, PermissionError):
        return Reason.UNREADABLE, "permission denied: make the file readable (chmod a+r) or run as its owner"
    if isinstance(error, IsADirectoryError):
        return Reason.UNREADABLE, "it is a directory with an image-like name, not a file"
    return Reason.UNREADABLE, f"reading failed: {error.strerror or error}"


def _skipped(path: str, reason: str, detail: str, **fields: Any) -> FileCheck:
    return FileCheck(path=path, status=Status.SKIPPED, reason=reason, detail=detail, **fields)


@dataclass(frozen=True)
class _Header:
    """Sizes read from a header, without decoding. `cost` is what TensorFlow decodes: all frames of a GIF."""

    width: int
    height: int
    frames: int = 1
    cost: int = 0
    animated: bool = False


def _check_bytes(path: str, data: bytes, max_pixels: int, conversion_dir: Path) -> FileCheck:
    image_format = sniff_format(data)
    if image_format is None:
        return _pillow_fallback(path, data, None, max_pixels, conversion_dir, "TensorFlow does not decode this format")
    header = _read_header(image_format, data)
    if header is None:
        detail = f"it starts like a {image_format} file but its header is {_damage(image_format, data)}"
        return _skipped(path, Reason.CORRUPT, detail, format=image_format)
    variant = _bmp_variant_problem(data) if image_format == "BMP" else None
    if variant is not None:
        return _pillow_fallback(path, data, image_format, max_pixels, conversion_dir, variant)
    if header.width * header.height > max_pixels:
        return _too_many_pixels(path, image_format, header.width, header.height, max_pixels)
    if header.cost > max_pixels:
        why = f"TensorFlow would decode all {header.frames} frames ({header.cost:,} pixels, more than max_pixels)"
        return _pillow_fallback(path, data, image_format, max_pixels, conversion_dir, why)
    error = tf_decode_error(data)
    if error is None:
        notes = _notes(path, image_format, header.frames, header.animated)
        return FileCheck(
            path=path,
            status=Status.OK,
            format=image_format,
            width=header.width,
            height=header.height,
            frames=header.frames,
            notes=notes,
        )
    if image_format in ("BMP", "WEBP") or (image_format == "PNG" and _png_intact(data)):
        return _pillow_fallback(path, data, image_format, max_pixels, conversion_dir, f"TensorFlow: {error}")
    detail = f"the {image_format} data is {_damage(image_format, data)} (TensorFlow: {error})"
    return _skipped(path, Reason.CORRUPT, detail, format=image_format, width=header.width, height=header.height)


def _damage(image_format: str, data: bytes) -> str:
    """'truncated' when the format's end marker is missing, else 'corrupt'."""
    ends = {"JPEG": b"\xff\xd9" in data[-4096:], "PNG": b"IEND" in data[-4096:], "GIF": data.rstrip(b"\0")[-1:] == b";"}
    if not ends.get(image_format, True):
        return "truncated (the file ends early: an interrupted download or copy?)"
    return "corrupt"


def _bmp_variant_problem(data: bytes) -> str | None:
    """Why TensorFlow's BMP decoder would misread this BMP, or None if it reads it right.

    TensorFlow reads only uncompressed 24- and 32-bit BMPs correctly; for 8-bit
    ones it returns the palette indices as gray levels, which is right only for
    a gray palette. Other variants go to Pillow.
    """
    if len(data) < 54:
        return None  # shorter than a BMP's headers: the decoders fail on it anyway
    (header_size,) = struct.unpack_from("<I", data, 14)
    bits, compression = struct.unpack_from("<HI", data, 28)
    if header_size < 40:
        return f"TensorFlow does not read this old BMP header ({header_size} bytes)"
    if compression != 0:
        return f"TensorFlow does not decode compressed BMPs (compression type {compression})"
    if bits in (24, 32):
        return None
    if bits != 8:
        return f"TensorFlow does not decode {bits}-bit BMPs"
    colours = struct.unpack_from("<I", data, 46)[0] or 256
    palette = data[14 + header_size : 14 + header_size + 4 * min(colours, 256)]
    gray = b"".join(bytes((index, index, index, 0)) for index in range(len(palette) // 4))
    if palette[0::4] == gray[0::4] and palette[1::4] == gray[1::4] and palette[2::4] == gray[2::4]:
        return None
    return "TensorFlow reads 8-bit BMP pixels as gray levels and ignores the colour palette"


def _png_intact(data: bytes) -> bool:
    """Whether every chunk's CRC checks out and the compressed image data is complete (zlib checks its checksum).

    Then TensorFlow rejects the file for something outside the image data (a
    missing IEND end chunk, say) and Pillow's decoding is faithful; Pillow
    does not check the image data's CRCs itself, so damaged data fails here.
    """
    position, decompressor = 8, zlib.decompressobj()
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            return False
        if zlib.crc32(data[position + 4 : body_end]) != struct.unpack_from(">I", data, body_end)[0]:
            return False
        if kind == b"IDAT" and not _inflate_discarding(decompressor, data[position + 8 : body_end]):
            return False
        if kind == b"IEND":
            break
        position = body_end + 4
    return decompressor.eof


def _inflate_discarding(decompressor: Any, chunk: bytes, block: int = 1 << 20) -> bool:
    """Feeds `chunk` to `decompressor` in bounded steps, throwing the output away; False on a zlib error."""
    try:
        decompressor.decompress(chunk, block)
        while decompressor.unconsumed_tail:
            decompressor.decompress(decompressor.unconsumed_tail, block)
    except zlib.error:
        return False
    return True


def _too_many_pixels(path: str, image_format: str | None, width: int, height: int, max_pixels: int) -> FileCheck:
    detail = (
        f"the header declares {width} x {height} = {width * height:,} pixels, more than max_pixels={max_pixels:,}; "
        "if the image is real, resize it or raise max_pixels"
    )
    return _skipped(path, Reason.TOO_MANY_PIXELS, detail, format=image_format, width=width, height=height)


def _notes(path: str, image_format: str, frames: int | None, animated: bool) -> tuple[tuple[str, str], ...]:
    notes = []
    extension = os.path.splitext(path)[1].lower()
    named = _EXTENSION_FORMATS.get(extension)
    if named is not None and named != image_format:
        notes.append(
            (
                NoteKind.WRONG_EXTENSION,
                f"the content is {image_format} but the name ends in {extension}; kept, as decoders read the content",
            )
        )
    if animated or (frames or 1) > 1:
        count = f"{frames} frames" if frames else "several frames"
        notes.append((NoteKind.ANIMATED, f"animated {image_format} with {count}; only the first frame is used"))
    return tuple(notes)


def tf_decode_error(data: bytes) -> str | None:
    """Decodes `data` exactly as the training pipeline does; returns TensorFlow's error message, or None if it decodes.

    This is `keras_transfer.images.decode_pixels`, the training pipeline's decoder without the resize.
    """
    try:
        decode_pixels(tf.constant(data))
    except (tf.errors.OpError, ValueError) as error:
        message = (getattr(error, "message", None) or str(error)).split("}} ")[-1].replace(" [Op:DecodeImage]", "")
        return (message.strip().splitlines() or [type(error).__name__])[0][:200]
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Headers: sizes as TensorFlow's decoders read them, without decoding


def sniff_format(data: bytes) -> str | None:
    """The TensorFlow-decodable format `data` starts like ("JPEG", "PNG", "GIF", "BMP", "WEBP"), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _read_header(image_format: str, data: bytes) -> _Header | None:
    reader = {"JPEG": _jpeg_header, "PNG": _png_header, "GIF": _gif_header, "BMP": _bmp_header, "WEBP": _webp_header}
    try:
        return reader[image_format](data)
    except (struct.error, IndexError):
        return None


def _jpeg_header(data: bytes) -> _Header | None:
    """Size as libjpeg reads it (`tf.image.extract_jpeg_shape` runs the decoder's own header parser)."""
    try:
        height, width, _ = (int(value) for value in tf.image.extract_jpeg_shape(data))
    except (tf.errors.OpError, ValueError):
        return None
    return _Header(width, height, cost=width * height)


def _png_header(data: bytes) -> _Header | None:
    """Size from IHDR (which must come first); an APNG's acTL chunk before IDAT gives its frame count."""
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    before_data = data[: data.find(b"IDAT")] if b"IDAT" in data else data
    control = before_data.find(b"acTL")
    frames = struct.unpack_from(">I", data, control + 4)[0] if control >= 0 else 1
    return _Header(width, height, frames=frames, cost=width * height, animated=control >= 0)


def _bmp_header(data: bytes) -> _Header | None:
    """Width and height where TensorFlow's BMP decoder reads them (offsets 18 and 22, height may be negative)."""
    width, height = struct.unpack_from("<ii", data, 18)
    width, height = abs(width), abs(height)
    return _Header(width, height, cost=width * height)


def _gif_header(data: bytes) -> _Header | None:
    """Size and frame count as TensorFlow's GIF decoder sees them.

    TensorFlow sizes its output to the widest and the tallest frame (not the
    logical screen), and giflib holds every frame in memory while decoding, so
    the cost is the pixels of all frames together.
    """
    flags = data[10]
    position = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    frames = frame_pixels = width = height = 0
    while position < len(data):
        block = data[position]
        if block == 0x21:  # extension: label, then sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 10 <= len(data):  # image descriptor
            frame_width, frame_height, frame_flags = struct.unpack_from("<HHB", data, position + 5)
            frames += 1
            frame_pixels += frame_width * frame_height
            width, height = max(width, frame_width), max(height, frame_height)
            position += 10 + (3 * (2 << (frame_flags & 7)) if frame_flags & 0x80 else 0)
            position = _skip_sub_blocks(data, position + 1)  # after the LZW code size byte
        else:  # trailer, truncation or garbage: giflib stops here too
            break
    if frames == 0:
        return None
    return _Header(width, height, frames=frames, cost=max(width * height, frame_pixels), animated=frames > 1)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position


def _webp_header(data: bytes) -> _Header | None:
    """Canvas size of a simple lossy (VP8), lossless (VP8L) or extended (VP8X) WebP."""
    chunk = data[12:16]
    if chunk == b"VP8X":
        if len(data) < 30:
            return None
        animated = bool(data[20] & 0x02)
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return _Header(width, height, frames=0 if animated else 1, cost=width * height, animated=animated)
    if chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        return _Header(width, height, cost=width * height)
    if chunk == b"VP8 ":
        width, height = struct.unpack_from("<HH", data, 26)
        width, height = width & 0x3FFF, height & 0x3FFF
        return _Header(width, height, cost=width * height)
    return None


# ---------------------------------------------------------------------------------------------------------------------
# The Pillow fallback: where TensorFlow cannot decode a file, Pillow may, and a PNG copy is used


def _pillow_fallback(
    path: str, data: bytes, tf_format: str | None, max_pixels: int, conversion_dir: Path, why: str
) -> FileCheck:
    try:
        image = Image.open(io.BytesIO(data), formats=_pillow_formats())
    except Image.DecompressionBombError as error:
        return _skipped(path, Reason.TOO_MANY_PIXELS, str(error), format=tf_format)
    except UnidentifiedImageError:
        return _unidentified(path, data, tf_format, why)
    except Exception as error:  # noqa: BLE001 - Pillow's plugins raise many kinds of errors on bad input
        return _skipped(path, Reason.CORRUPT, f"{tf_format or 'image'} header is corrupt: {error}", format=tf_format)
    with image:
        image_format = _FORMAT_ALIASES.get(image.format, image.format)
        width, height = image.size
        if width * height > max_pixels:
            return _too_many_pixels(path, image_format, width, height, max_pixels)
        try:
            image.load()
            pixels = _to_rgb(image)
        except Image.DecompressionBombError as error:
            return _skipped(path, Reason.TOO_MANY_PIXELS, str(error), format=image_format)
        except Exception as error:  # noqa: BLE001 - as above
            return _decode_failed(path, image_format, width, height, error)
        frames = _gif_frames(data) if image_format == "GIF" else _pillow_frames(image)
    try:
        copy = _write_copy(pixels, data, path, conversion_dir)
    except OSError as error:
        raise OSError(
            f"Cannot write the converted PNG copy of {path!r} into {str(conversion_dir)!r} ({error}). Pass "
            "cache_dir= a writable folder, or cache_dir=False to write copies to a temporary folder."
        ) from error
    if copy is None:
        return _skipped(path, Reason.CORRUPT, "the converted PNG copy does not decode in TensorFlow")
    notes = _notes(path, image_format, frames, False)
    notes += ((NoteKind.CONVERTED, f"{why}; decoded with Pillow, using the PNG copy {copy}"),)
    return FileCheck(
        path=path,
        status=Status.CONVERTED,
        detail=why,
        format=image_format,
        width=width,
        height=height,
        frames=frames,
        notes=notes,
        converted_path=str(copy),
    )


def _pillow_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(name for name in PILLOW_FORMATS if name in Image.OPEN)


def _pillow_frames(image: Image.Image) -> int | None:
    try:
        return int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - counting frames reads later frames, which may be broken
        return None


def _gif_frames(data: bytes) -> int | None:
    header = _read_header("GIF", data) if sniff_format(data) == "GIF" else None
    return header.frames if header else None


def _decode_failed(path: str, image_format: str, width: int, height: int, error: Exception) -> FileCheck:
    message = str(error) or type(error).__name__
    lowered = message.lower()
    if any(phrase in lowered for phrase in ("not available", "not supported", "unsupported", "unknown")):
        reason, detail = Reason.UNSUPPORTED_FORMAT, f"this {image_format} variant cannot be decoded: {message}"
    else:
        reason, detail = Reason.CORRUPT, f"{image_format} data is truncated or corrupt: {message}"
    return _skipped(path, reason, detail, format=image_format, width=width, height=height)


def _to_rgb(image: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8, as TensorFlow would give: alpha dropped, 16 bits cut to their top 8, no EXIF rotation."""
    if image.mode.startswith("I;16"):
        pixels = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
    elif image.mode == "I":
        values = np.clip(np.asarray(image), 0, 65535)
        pixels = (values >> 8 if values.max(initial=0) > 255 else values).astype(np.uint8)
    elif image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float32))
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0
        pixels = np.clip(values * scale, 0, 255).astype(np.uint8)
    else:
        return np.asarray(image.convert("RGB"))
    return np.repeat(pixels[..., None], 3, axis=-1)


def _write_copy(pixels: np.ndarray, data: bytes, path: str, conversion_dir: Path) -> Path | None:
    """Writes `pixels` as a PNG named after the file and its content hash; None if TensorFlow cannot read it back."""
    encoded = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(encoded, "PNG", compress_level=1)
    png = encoded.getvalue()
    if tf_decode_error(png) is not None:
        return None
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)[:40] or "image"
    copy = conversion_dir / f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}.png"
    conversion_dir.mkdir(parents=True, exist_ok=True)
    partial = copy.with_name(f"{copy.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.write_bytes(png)
    os.replace(partial, copy)
    return copy


# ---------------------------------------------------------------------------------------------------------------------
# Files nobody can decode: say what they are


_UNSUPPORTED_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"II*\x00", "a TIFF variant Pillow cannot open"),
    (b"MM\x00*", "a TIFF variant Pillow cannot open"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def _unidentified(path: str, data: bytes, tf_format: str | None, why: str) -> FileCheck:
    if tf_format is not None:
        detail = f"it starts like a {tf_format} file but neither TensorFlow nor Pillow can read it ({why})"
        return _skipped(path, Reason.CORRUPT, detail, format=tf_format)
    kind = _unsupported_kind(data)
    if kind is not None:
        detail = f"{kind}; convert it to JPEG or PNG to use it"
        return _skipped(path, Reason.UNSUPPORTED_FORMAT, detail)
    return _skipped(path, Reason.NOT_AN_IMAGE, _describe_non_image(data))


def _unsupported_kind(data: bytes) -> str | None:
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "an HEIC/HEIF photo (the iPhone default)"
        if brand in (b"avif", b"avis"):
            return "an AVIF image Pillow cannot open"
        return f"an ISO media file (brand {brand.decode('latin-1')!r}, e.g. a video)"
    for signature, kind in _UNSUPPORTED_SIGNATURES:
        if data.startswith(signature):
            return kind
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "an SVG drawing (vector graphics)"
    return None


def _describe_non_image(data: bytes) -> str:
    head = data[:1024]
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:200]:
        return "it is an HTML page, often an error page saved by a failed download"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:  # a character cut at the 1 KiB boundary is fine
        text = head[: error.start].decode("utf-8") if error.start >= len(head) - 3 else None
    if text is not None and sum(ch.isprintable() or ch.isspace() for ch in text) >= 0.95 * len(text):
        return f"it is a text file starting {text[:40]!r}"
    return f"unrecognised content (first bytes {data[:8].hex(' ')})"
