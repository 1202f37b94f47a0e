"""Files neither TensorFlow nor Pillow can open: say what they are (a PDF, an HEIC photo, an HTML error page, ...).

Example:
    >>> unidentified("x.jpg", Path("x.jpg").read_bytes(), None, "TensorFlow does not decode this format").detail
    'an HEIC/HEIF photo (the iPhone default); convert it to JPEG or PNG to use it'
"""

from __future__ import annotations

from keras_transfer.data.file_check import FileCheck, skipped_check
from keras_transfer.data.scan_reasons import Reason

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


def unidentified(path: str, data: bytes, tf_format: str | None, why: str) -> FileCheck:
    """The verdict on a file that neither TensorFlow nor Pillow can open, saying what it is.

    Args:
        path: the file as given.
        data: its bytes.
        tf_format: the TensorFlow format it starts like (`sniff_format`), or None.
        why: why TensorFlow did not read it.

    Returns:
        A skipped `FileCheck`: corrupt (it starts like an image), unsupported format (a PDF, an HEIC photo, ...)
        or not an image (text, an HTML page, ...).

    Example:
        >>> unidentified("x.jpg", b"<!DOCTYPE html><html>403 Forbidden", None, "unknown format").detail
        'it is an HTML page, often an error page saved by a failed download'
    """
    if tf_format is not None:
        detail = f"it starts like a {tf_format} file but neither TensorFlow nor Pillow can read it ({why})"
        return skipped_check(path, Reason.CORRUPT, detail, format=tf_format)
    kind = _unsupported_kind(data)
    if kind is not None:
        detail = f"{kind}; convert it to JPEG or PNG to use it"
        return skipped_check(path, Reason.UNSUPPORTED_FORMAT, detail)
    return skipped_check(path, Reason.NOT_AN_IMAGE, _describe_non_image(data))


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
