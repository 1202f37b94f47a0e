"""A generator of broken and odd image files, for tests, demos and checking `scan_files`.

Every file is tiny and deterministic. `BROKEN_FILES` lists each one with the
outcome `keras_transfer.scan.scan_files` gives it under TensorFlow 2.21 /
Pillow 13: `"ok"` (TensorFlow decodes it), `"converted"` (only Pillow decodes
it, so a PNG copy is used) or the skip reason (a `keras_transfer.scan.Reason`),
and the note it gets (a `keras_transfer.scan.NoteKind`), read from one table.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from keras_transfer.data.scan import NOTE_TEXT, REASON_TEXT, Status

KEPT_OUTCOMES = (Status.OK, Status.CONVERTED)


@dataclass(frozen=True)
class BrokenFile:
    """One generated file: its name, the scan outcome it should get, an expected note, and what it is."""

    name: str
    expected: str
    note: str | None
    description: str

    @property
    def kept(self) -> bool:
        """Whether the scan keeps the file (decoded by TensorFlow, or converted with Pillow)."""
        return self.expected in KEPT_OUTCOMES


# One file a line: its name, the scan outcome, the note it gets (`-`: none) and what it is.
_TABLE = """
zero_bytes.jpg          zero_byte             -                an empty file
truncated.jpg           truncated_or_corrupt  -                a JPEG cut at 60% (an interrupted download)
truncated.png           truncated_or_corrupt  -                a PNG cut in half
random_bytes.png        not_an_image          -                2 KiB of random bytes named .png
text_file.jpg           not_an_image          -                a plain text file named .jpg
html_error_page.jpg     not_an_image          -                an HTTP 403 page saved as .jpg by a scraper
jpeg_header_only.jpg    truncated_or_corrupt  -                a JPEG start marker and JFIF header, no image data
decompression_bomb.png  too_many_pixels       -                a 200-byte PNG whose header says 30000x30000
heic_named_jpg.jpg      unsupported_format    -                an HEIC (iPhone) file header named .jpg
png_named_jpg.jpg       ok                    wrong_extension  a valid PNG named .jpg
cmyk.jpg                ok                    -                a CMYK JPEG (print workflows)
gray16.png              ok                    -                a 16-bit grayscale PNG
rgb16.png               ok                    -                a 16-bit-per-channel RGB PNG
animated.gif            ok                    animated         a 3-frame animated GIF (first frame used)
rgba.png                ok                    -                an RGBA PNG (alpha dropped)
grayscale.png           ok                    -                an 8-bit grayscale PNG
palette.png             ok                    -                a palette (mode P) PNG
image.bmp               ok                    -                a 24-bit BMP
photo.webp              ok                    -                a still lossy WebP
one_bit.bmp             converted             -                a 1-bit BMP (TensorFlow cannot decode 1-bit BMPs)
tiff_named_jpg.jpg      converted             wrong_extension  a TIFF named .jpg
animated.webp           converted             animated         an animated WebP (TensorFlow needs 4 channels)
png_missing_iend.png    converted             -                a PNG whose last chunk (IEND) is missing
palette8.bmp            converted             -                an 8-bit palette BMP (TensorFlow ignores the palette)
png_bad_crc.png         truncated_or_corrupt  -                a PNG with one flipped bit in its image data (bit rot)
"""


def _read_table(table: str) -> tuple[BrokenFile, ...]:
    """The table's `BrokenFile`s, in its order; an outcome or note the scan does not know is a ValueError."""
    files = []
    for line in table.strip().splitlines():
        name, expected, note, description = line.split(maxsplit=3)
        note = None if note == "-" else note
        if expected not in (*KEPT_OUTCOMES, *REASON_TEXT) or note not in (None, *NOTE_TEXT):
            raise ValueError(f"Unknown outcome or note in brokenfiles' table: {line!r}")
        files.append(BrokenFile(name, expected, note, description))
    return tuple(files)


BROKEN_FILES = _read_table(_TABLE)


def write_broken_files(folder: str | os.PathLike) -> dict[str, str]:
    """Writes every file of `BROKEN_FILES` into `folder` (created if missing).

    Args:
        folder: where to write the files.

    Returns:
        File name → expected scan outcome: `"ok"`, `"converted"` or a skip reason
        such as `"truncated_or_corrupt"`. `BROKEN_FILES` also gives the expected notes.

    Example:
        >>> expected = write_broken_files("/tmp/broken")
        >>> expected["zero_bytes.jpg"], expected["cmyk.jpg"]
        ('zero_byte', 'ok')
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    contents = _file_contents()
    for spec in BROKEN_FILES:
        (root / spec.name).write_bytes(contents[spec.name])
    return {spec.name: spec.expected for spec in BROKEN_FILES}


def sample_image(width: int = 48, height: int = 40, seed: int = 0) -> Image.Image:
    """A deterministic RGB test picture: a colour gradient with noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack(
        [xs * 255 // max(width - 1, 1), ys * 255 // max(height - 1, 1), (xs + ys) * 127 // (width + height)]
    )
    pixels = np.clip(base.transpose(1, 2, 0) + rng.integers(-20, 20, (height, width, 3)), 0, 255)
    return Image.fromarray(pixels.astype(np.uint8))


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    """`image` encoded with Pillow as `image_format` (e.g. "JPEG", "PNG"), as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, raw_rows: bytes) -> bytes:
    """A PNG built by hand from its IHDR fields and the filtered rows (each row starts with a filter byte).

    The IHDR may declare any size: with short `raw_rows` the header still says
    `width`x`height`, which is how the decompression-bomb sample is made.
    """
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw_rows)) + _chunk(b"IEND")


def _chunk(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _file_contents() -> dict[str, bytes]:
    picture = sample_image()
    jpeg = encode(picture, "JPEG", quality=90)
    png = encode(picture, "PNG")
    frames = [sample_image(seed=seed) for seed in range(3)]
    return {
        "zero_bytes.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) * 6 // 10],
        "truncated.png": png[: len(png) // 2],
        "random_bytes.png": _random_bytes(2048),
        "text_file.jpg": b"This is not an image. It is a note someone saved with the wrong name.\n",
        "html_error_page.jpg": _HTML_ERROR_PAGE,
        "jpeg_header_only.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        "decompression_bomb.png": png_bytes(30_000, 30_000, 8, 2, b"\x00" * 4096),
        "heic_named_jpg.jpg": struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(64),
        "png_named_jpg.jpg": png,
        "cmyk.jpg": encode(picture.convert("CMYK"), "JPEG", quality=90),
        "gray16.png": encode(Image.fromarray(np.asarray(picture.convert("L")).astype(np.uint16) * 257), "PNG"),
        "rgb16.png": _rgb16_png(np.asarray(picture)),
        "animated.gif": _animated(frames, "GIF"),
        "rgba.png": encode(picture.convert("RGBA"), "PNG"),
        "grayscale.png": encode(picture.convert("L"), "PNG"),
        "palette.png": encode(picture.convert("P"), "PNG"),
        "image.bmp": encode(picture, "BMP"),
        "photo.webp": encode(picture, "WEBP", quality=90),
        "one_bit.bmp": encode(picture.convert("1"), "BMP"),
        "tiff_named_jpg.jpg": encode(picture, "TIFF"),
        "animated.webp": _animated(frames, "WEBP"),
        "png_missing_iend.png": png[:-12],
        "palette8.bmp": encode(picture.convert("P"), "BMP"),
        "png_bad_crc.png": _png_with_bit_rot(np.asarray(picture)),
    }


def _png_with_bit_rot(pixels: np.ndarray) -> bytes:
    """An uncompressed PNG in 1 KiB IDAT chunks, zlib's checksum alone in the last, one bit flipped in the first.

    The first chunk's CRC no longer matches, and libpng (TensorFlow) rejects the
    file; Pillow does not check IDAT CRCs and stops before zlib's checksum, so
    it silently reads one wrong pixel.
    """
    height, width, _ = pixels.shape
    stream = zlib.compress(b"".join(b"\x00" + pixels[row].tobytes() for row in range(height)), 0)
    pieces = [stream[start : min(start + 1024, len(stream) - 4)] for start in range(0, len(stream) - 4, 1024)]
    chunks = [_chunk(b"IDAT", piece) for piece in [*pieces, stream[-4:]]]
    chunks[0] = chunks[0][:300] + bytes([chunks[0][300] ^ 0x10]) + chunks[0][301:]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + b"".join(chunks) + _chunk(b"IEND")


def _random_bytes(size: int) -> bytes:
    data = random.Random(1234).randbytes(size)
    return b"\x13" + data[1:]  # no image format starts with 0x13: random bytes stay "not an image"


def _rgb16_png(pixels: np.ndarray) -> bytes:
    height, width, _ = pixels.shape
    wide = pixels.astype(">u2") * 257
    rows = b"".join(b"\x00" + wide[row].tobytes() for row in range(height))
    return png_bytes(width, height, 16, 2, rows)


def _animated(frames: list[Image.Image], image_format: str) -> bytes:
    first, *rest = [frame.convert("P") if image_format == "GIF" else frame for frame in frames]
    return encode(first, image_format, save_all=True, append_images=rest, duration=100, loop=0)


_HTML_ERROR_PAGE = b"""<!DOCTYPE html>
<html><head><title>403 Forbidden</title></head>
<body><h1>Forbidden</h1><p>You don't have permission to access this resource.</p></body></html>
"""
