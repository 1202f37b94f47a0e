"""The scan's words: a file's outcome (`Status`), why it was skipped (`Reason`), remarks on a kept file (`NoteKind`).

`REASON_TEXT` and `NOTE_TEXT` give each value the words that reports and error
messages show.

Example:
    >>> from keras_transfer.data.scan_reasons import REASON_TEXT, Reason
    >>> REASON_TEXT[Reason.ZERO_BYTE]
    'empty file (0 bytes)'
"""

from __future__ import annotations


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
    BROKEN_LINK = "broken_link"


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
    Reason.BROKEN_LINK: "the link's target does not exist",
}

NOTE_TEXT = {
    NoteKind.WRONG_EXTENSION: "content does not match the file extension",
    NoteKind.ANIMATED: "animated: only the first frame is used",
    NoteKind.CONVERTED: "TensorFlow cannot decode it: a PNG copy made with Pillow is used",
}
