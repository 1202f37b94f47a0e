"""The Pillow fallback: where TensorFlow cannot decode a file, Pillow may, and an RGB PNG copy is used instead.

A TIFF, a 1-bit or palette BMP, an animated WebP or a PNG without its end
chunk is decoded completely with Pillow, turned into the pixels TensorFlow
would give (alpha dropped, 16 bits cut to 8, no EXIF rotation) and written as a
PNG named after the file and its content hash. Files Pillow cannot open
either go to `keras_transfer.data.unknown_files`, which says what they are.

Example:
    >>> check = pillow_fallback("scan.tif", data, None, 89_478_485, Path("converted"), "a TIFF")
    >>> check.converted_path
    'converted/scan-3f2a....png'
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_transfer.data.file_check import FileCheck, format_notes, skipped_check, too_many_pixels_check
from keras_transfer.data.image_headers import read_header, sniff_format
from keras_transfer.data.scan_reasons import NoteKind, Reason, Status
from keras_transfer.data.tf_decode import tf_decode_error
from keras_transfer.data.unknown_files import unidentified

PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO", "AVIF")
"""Formats Pillow may convert. TGA and DIB are left out: having no signature, random bytes pass as them."""

_FORMAT_ALIASES = {"MPO": "JPEG", "DIB": "BMP"}


def pillow_fallback(
    path: str, data: bytes, tf_format: str | None, max_pixels: int, conversion_dir: Path, why: str
) -> FileCheck:
    """The verdict on a file TensorFlow cannot decode (or would misread): converted when Pillow decodes it all.

    Args:
        path: the file as given (names the copy).
        data: its bytes.
        tf_format: the TensorFlow format it starts like (`sniff_format`), or None.
        max_pixels: larger images are skipped without being decoded.
        conversion_dir: where the PNG copy is written.
        why: why TensorFlow is not used, for the verdict's detail.

    Returns:
        A `FileCheck`: "converted" with `converted_path` set, or "skipped" with the reason.

    Raises:
        OSError: when the copy cannot be written into `conversion_dir`.

    Example:
        >>> check = pillow_fallback("scan.tif", data, None, 89_478_485, Path("converted"), "a TIFF")
        >>> check.status, check.converted_path.endswith(".png")
        ('converted', True)
    """
    try:
        image = Image.open(io.BytesIO(data), formats=_pillow_formats())
    except Image.DecompressionBombError as error:
        return skipped_check(path, Reason.TOO_MANY_PIXELS, str(error), format=tf_format)
    except UnidentifiedImageError:
        return unidentified(path, data, tf_format, why)
    except Exception as error:  # noqa: BLE001 - Pillow's plugins raise many kinds of errors on bad input
        detail = f"{tf_format or 'image'} header is corrupt: {error}"
        return skipped_check(path, Reason.CORRUPT, detail, format=tf_format)
    with image:
        image_format = _FORMAT_ALIASES.get(image.format, image.format)
        width, height = image.size
        if width * height > max_pixels:
            return too_many_pixels_check(path, image_format, width, height, max_pixels)
        try:
            image.load()
            pixels = _to_rgb(image)
        except Image.DecompressionBombError as error:
            return skipped_check(path, Reason.TOO_MANY_PIXELS, str(error), format=image_format)
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
        return skipped_check(path, Reason.CORRUPT, "the converted PNG copy does not decode in TensorFlow")
    notes = format_notes(path, image_format, frames, False)
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
    header = read_header("GIF", data) if sniff_format(data) == "GIF" else None
    return header.frames if header else None


def _decode_failed(path: str, image_format: str, width: int, height: int, error: Exception) -> FileCheck:
    message = str(error) or type(error).__name__
    lowered = message.lower()
    if any(phrase in lowered for phrase in ("not available", "not supported", "unsupported", "unknown")):
        reason, detail = Reason.UNSUPPORTED_FORMAT, f"this {image_format} variant cannot be decoded: {message}"
    else:
        reason, detail = Reason.CORRUPT, f"{image_format} data is truncated or corrupt: {message}"
    return skipped_check(path, reason, detail, format=image_format, width=width, height=height)


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

