"""`FileCheck`, the scan's verdict on one file, the helpers that build the common verdicts, and `CorruptImageError`.

Example:
    >>> from keras_transfer.data.file_check import FileCheck, skipped_check
    >>> check = skipped_check("a.jpg", Reason.ZERO_BYTE, "the file is empty")
    >>> check.kept, FileCheck.from_dict(check.to_dict()) == check
    (False, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from keras_transfer.data.scan_reasons import REASON_TEXT, NoteKind, Reason, Status

_EXTENSION_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG", ".gif": "GIF",
    ".bmp": "BMP", ".dib": "BMP", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".ico": "ICO",
    ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM", ".pnm": "PPM", ".avif": "AVIF",
}  # fmt: skip


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

    Example:
        >>> check = FileCheck(path="cat.jpg", status=Status.OK, format="JPEG", width=64, height=48)
        >>> check.kept, check.usable_path
        (True, 'cat.jpg')
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


class CorruptImageError(ValueError):
    """A file that cannot be used as an image, raised by `scan_files(..., strict=True)`.

    Attributes:
        path: the file.
        reason: a `Reason` value.
        detail: what exactly is wrong.

    Example:
        >>> try:
        ...     scan_files(files, strict=True)
        ... except CorruptImageError as error:
        ...     print(error.path, error.reason)
    """

    def __init__(self, check: FileCheck):
        self.path = check.path
        self.reason = check.reason
        self.detail = check.detail
        super().__init__(
            f"Bad image file {check.path!r}: {REASON_TEXT.get(check.reason, check.reason)} ({check.detail}). "
            "Fix or delete the file, or pass strict=False to skip bad files and get a report of them."
        )


def skipped_check(path: str, reason: str, detail: str, **fields: Any) -> FileCheck:
    """The verdict for a file that is left out.

    Args:
        path: the file as given.
        reason: a `Reason` value.
        detail: what exactly is wrong, for a person.
        **fields: other `FileCheck` fields that are known (format, width, height).

    Returns:
        A `FileCheck` with status "skipped".

    Example:
        >>> skipped_check("a.jpg", Reason.CORRUPT, "truncated", format="JPEG").status
        'skipped'
    """
    return FileCheck(path=path, status=Status.SKIPPED, reason=reason, detail=detail, **fields)


def too_many_pixels_check(path: str, image_format: str | None, width: int, height: int, max_pixels: int) -> FileCheck:
    """The verdict for an image larger than `max_pixels` (a possible decompression bomb), found without decoding.

    Args:
        path: the file as given.
        image_format: its format, if known.
        width, height: the size its header declares.
        max_pixels: the limit it is over.

    Returns:
        A skipped `FileCheck` with reason `Reason.TOO_MANY_PIXELS`.

    Example:
        >>> too_many_pixels_check("bomb.png", "PNG", 30_000, 30_000, 89_478_485).reason
        'too_many_pixels'
    """
    detail = (
        f"the header declares {width} x {height} = {width * height:,} pixels, more than max_pixels={max_pixels:,}; "
        "if the image is real, resize it or raise max_pixels"
    )
    return skipped_check(path, Reason.TOO_MANY_PIXELS, detail, format=image_format, width=width, height=height)


def format_notes(path: str, image_format: str, frames: int | None, animated: bool) -> tuple[tuple[str, str], ...]:
    """The report-only notes on a kept file: a name that belies its content, an animation cut to one frame.

    Args:
        path: the file as given (its extension is compared with the content).
        image_format: the format found in the content.
        frames: its frame count, if known.
        animated: whether the header marks it animated.

    Returns:
        `(NoteKind, detail)` pairs, possibly none.

    Example:
        >>> format_notes("photo.jpg", "PNG", 1, False)[0][0]
        'wrong_extension'
    """
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
