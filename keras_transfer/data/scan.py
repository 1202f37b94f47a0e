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

The pieces, one module each: `scan_reasons` (the `Status`, `Reason` and
`NoteKind` values and their texts), `file_check` (`FileCheck`, one file's
verdict, and `CorruptImageError`), `scan_result` (`ScanResult` and its
report), `image_headers` (formats and sizes read without decoding, integrity
checks), `tf_decode` (the pipeline's decoder as a test), `pillow_fallback`
(converted copies), `unknown_files` (what an unreadable file is) and
`scan_cache` (the SQLite cache and the conversion folder).

Example:
    >>> from keras_transfer.data.scan import scan_files
    >>> result = scan_files(sorted(Path("photos").rglob("*.jpg")))
    >>> print(result.summary())
    >>> dataset = tf.data.Dataset.from_tensor_slices(result.paths)
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from PIL import Image
from tqdm.auto import tqdm

from keras_transfer.data.file_check import (
    CorruptImageError,
    FileCheck,
    format_notes,
    skipped_check,
    too_many_pixels_check,
)
from keras_transfer.data.image_headers import (
    bmp_variant_problem,
    describe_damage,
    png_intact,
    read_header,
    sniff_format,
)
from keras_transfer.data.pillow_fallback import PILLOW_FORMATS, pillow_fallback
from keras_transfer.data.scan_cache import (
    SCAN_VERSION,
    UNCACHED_REASONS,
    ScanCache,
    cached_verdict,
    default_cache_dir,
    settings_key,
    temporary_conversion_dir,
)
from keras_transfer.data.scan_reasons import NOTE_TEXT, REASON_TEXT, NoteKind, Reason, Status
from keras_transfer.data.scan_result import ScanResult
from keras_transfer.data.tf_decode import tf_decode_error

__all__ = [
    "DEFAULT_MAX_PIXELS", "NOTE_TEXT", "PILLOW_FORMATS", "REASON_TEXT", "SCAN_VERSION", "CorruptImageError",
    "FileCheck", "NoteKind", "Reason", "ScanResult", "Status", "check_file", "default_cache_dir", "scan_files",
    "sniff_format", "tf_decode_error",
]  # fmt: skip

DEFAULT_MAX_PIXELS = 89_478_485
"""Pillow's default decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`): about 9459 x 9459."""


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
    store = None if cache_dir is False else ScanCache(Path(cache_dir) if cache_dir else default_cache_dir())
    conversion_dir = store.conversion_dir if store else temporary_conversion_dir()
    settings = settings_key(max_pixels)
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
    verdict, key = cached_verdict(path, known)
    if verdict is not None:
        return verdict, True, key
    verdict = check_file(path, max_pixels=max_pixels, conversion_dir=conversion_dir)
    return verdict, False, (None if key is None or verdict.reason in UNCACHED_REASONS else key)


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
        return skipped_check(path, *_read_error(path, error))
    if not data:
        detail = "the file is empty (0 bytes), e.g. an interrupted copy or download"
        return skipped_check(path, Reason.ZERO_BYTE, detail)
    folder = Path(conversion_dir) if conversion_dir is not None else temporary_conversion_dir()
    return _check_bytes(path, data, max_pixels, folder)


def _read_file(path: str) -> bytes:
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "it is a directory, not a file", path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"it is not a regular file (mode {stat.filemode(info.st_mode)})")
    with open(path, "rb") as stream:
        return stream.read()


def _read_error(path: str, error: OSError) -> tuple[str, str]:
    if isinstance(error, FileNotFoundError) and os.path.islink(path):
        try:
            target = repr(os.readlink(path))
        except OSError:
            target = "a file"
        return Reason.BROKEN_LINK, f"it is a symbolic link to {target}, which does not exist (moved or deleted?)"
    if isinstance(error, FileNotFoundError):
        return Reason.MISSING, "no such file (deleted or moved since it was listed?)"
    if isinstance(error, PermissionError):
        return Reason.UNREADABLE, "permission denied: make the file readable (chmod a+r) or run as its owner"
    if isinstance(error, IsADirectoryError):
        return Reason.UNREADABLE, "it is a directory with an image-like name, not a file"
    return Reason.UNREADABLE, f"reading failed: {error.strerror or error}"


def _check_bytes(path: str, data: bytes, max_pixels: int, conversion_dir: Path) -> FileCheck:
    image_format = sniff_format(data)
    if image_format is None:
        return pillow_fallback(path, data, None, max_pixels, conversion_dir, "TensorFlow does not decode this format")
    header = read_header(image_format, data)
    if header is None:
        detail = f"it starts like a {image_format} file but its header is {describe_damage(image_format, data)}"
        return skipped_check(path, Reason.CORRUPT, detail, format=image_format)
    variant = bmp_variant_problem(data) if image_format == "BMP" else None
    if variant is not None:
        return pillow_fallback(path, data, image_format, max_pixels, conversion_dir, variant)
    if header.width * header.height > max_pixels:
        return too_many_pixels_check(path, image_format, header.width, header.height, max_pixels)
    if header.cost > max_pixels:
        why = f"TensorFlow would decode all {header.frames} frames ({header.cost:,} pixels, more than max_pixels)"
        return pillow_fallback(path, data, image_format, max_pixels, conversion_dir, why)
    error = tf_decode_error(data)
    if error is None:
        notes = format_notes(path, image_format, header.frames, header.animated)
        return FileCheck(
            path=path,
            status=Status.OK,
            format=image_format,
            width=header.width,
            height=header.height,
            frames=header.frames,
            notes=notes,
        )
    if image_format in ("BMP", "WEBP") or (image_format == "PNG" and png_intact(data)):
        return pillow_fallback(path, data, image_format, max_pixels, conversion_dir, f"TensorFlow: {error}")
    detail = f"the {image_format} data is {describe_damage(image_format, data)} (TensorFlow: {error})"
    return skipped_check(path, Reason.CORRUPT, detail, format=image_format, width=header.width, height=header.height)

