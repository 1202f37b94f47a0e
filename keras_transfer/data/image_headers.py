"""Image headers read without decoding: the format, the size and frame count as TensorFlow's decoders see them.

`read_header` gives the size TensorFlow would decode (so a decompression bomb
is caught before any pixel is allocated). The integrity checks say what the
header alone cannot: whether TensorFlow would misread a BMP variant, whether a
PNG's chunks and compressed data are intact, whether a file ends early.

Example:
    >>> data = Path("cat.png").read_bytes()
    >>> image_format = sniff_format(data)
    >>> header = read_header(image_format, data)
    >>> image_format, header.width, header.height
    ('PNG', 64, 48)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import tensorflow as tf


@dataclass(frozen=True)
class ImageHeader:
    """Sizes read from a header, without decoding. `cost` is what TensorFlow decodes: all frames of a GIF.

    Attributes:
        width, height: the image size TensorFlow decodes.
        frames: the number of frames (0: animated, count unknown).
        cost: the pixels TensorFlow holds while decoding (all frames of a GIF).
        animated: whether the header marks the image animated.

    Example:
        >>> ImageHeader(64, 48, cost=64 * 48).frames
        1
    """

    width: int
    height: int
    frames: int = 1
    cost: int = 0
    animated: bool = False


def sniff_format(data: bytes) -> str | None:
    """The TensorFlow-decodable format `data` starts like, from its signature.

    Args:
        data: the file's bytes (the first 12 are enough).

    Returns:
        "JPEG", "PNG", "GIF", "BMP" or "WEBP", or None for anything else.

    Example:
        >>> sniff_format(Path("cat.png").read_bytes())
        'PNG'
    """
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


def read_header(image_format: str, data: bytes) -> ImageHeader | None:
    """The size and frames TensorFlow's decoder for `image_format` would find in `data`, without decoding.

    Args:
        image_format: what `sniff_format` said.
        data: the file's bytes.

    Returns:
        An `ImageHeader`, or None when the header is cut short or unreadable.

    Example:
        >>> read_header("GIF", Path("clip.gif").read_bytes()).frames
        3
    """
    reader = {"JPEG": _jpeg_header, "PNG": _png_header, "GIF": _gif_header, "BMP": _bmp_header, "WEBP": _webp_header}
    try:
        return reader[image_format](data)
    except (struct.error, IndexError):
        return None


def _jpeg_header(data: bytes) -> ImageHeader | None:
    """Size as libjpeg reads it (`tf.image.extract_jpeg_shape` runs the decoder's own header parser)."""
    try:
        height, width, _ = (int(value) for value in tf.image.extract_jpeg_shape(data))
    except (tf.errors.OpError, ValueError):
        return None
    return ImageHeader(width, height, cost=width * height)


def _png_header(data: bytes) -> ImageHeader | None:
    """Size from IHDR (which must come first); an APNG's acTL chunk before IDAT gives its frame count."""
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    before_data = data[: data.find(b"IDAT")] if b"IDAT" in data else data
    control = before_data.find(b"acTL")
    frames = struct.unpack_from(">I", data, control + 4)[0] if control >= 0 else 1
    return ImageHeader(width, height, frames=frames, cost=width * height, animated=control >= 0)


def _bmp_header(data: bytes) -> ImageHeader | None:
    """Width and height where TensorFlow's BMP decoder reads them (offsets 18 and 22, height may be negative)."""
    width, height = struct.unpack_from("<ii", data, 18)
    width, height = abs(width), abs(height)
    return ImageHeader(width, height, cost=width * height)


def _gif_header(data: bytes) -> ImageHeader | None:
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
    return ImageHeader(width, height, frames=frames, cost=max(width * height, frame_pixels), animated=frames > 1)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            break
    return position


def _webp_header(data: bytes) -> ImageHeader | None:
    """Canvas size of a simple lossy (VP8), lossless (VP8L) or extended (VP8X) WebP."""
    chunk = data[12:16]
    if chunk == b"VP8X":
        if len(data) < 30:
            return None
        animated = bool(data[20] & 0x02)
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return ImageHeader(width, height, frames=0 if animated else 1, cost=width * height, animated=animated)
    if chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        return ImageHeader(width, height, cost=width * height)
    if chunk == b"VP8 ":
        width, height = struct.unpack_from("<HH", data, 26)
        width, height = width & 0x3FFF, height & 0x3FFF
        return ImageHeader(width, height, cost=width * height)
    return None



# ---------------------------------------------------------------------------------------------------------------------
# Integrity: what the header alone does not tell


def describe_damage(image_format: str, data: bytes) -> str:
    """How a file that does not decode is damaged, judged by its format's end marker.

    Args:
        image_format: what `sniff_format` said.
        data: the file's bytes.

    Returns:
        "truncated (...)" when the end marker is missing, else "corrupt".

    Example:
        >>> describe_damage("JPEG", jpeg_bytes[: len(jpeg_bytes) // 2])
        'truncated (the file ends early: an interrupted download or copy?)'
    """
    ends = {"JPEG": b"\xff\xd9" in data[-4096:], "PNG": b"IEND" in data[-4096:], "GIF": data.rstrip(b"\0")[-1:] == b";"}
    if not ends.get(image_format, True):
        return "truncated (the file ends early: an interrupted download or copy?)"
    return "corrupt"


def bmp_variant_problem(data: bytes) -> str | None:
    """Why TensorFlow's BMP decoder would misread this BMP, or None if it reads it right.

    TensorFlow reads only uncompressed 24- and 32-bit BMPs correctly; for 8-bit
    ones it returns the palette indices as gray levels, which is right only for
    a gray palette. Other variants go to Pillow.

    Args:
        data: the bytes of a file that starts like a BMP.

    Returns:
        The problem, in words, or None.

    Example:
        >>> bmp_variant_problem(Path("one_bit.bmp").read_bytes())
        'TensorFlow does not decode 1-bit BMPs'
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


def png_intact(data: bytes) -> bool:
    """Whether every chunk's CRC checks out and the compressed image data is complete (zlib checks its checksum).

    Then TensorFlow rejects the file for something outside the image data (a
    missing IEND end chunk, say) and Pillow's decoding is faithful; Pillow
    does not check the image data's CRCs itself, so damaged data fails here.

    Args:
        data: the bytes of a file that starts like a PNG.

    Returns:
        True when the chunks and the image data are intact.

    Example:
        >>> png_intact(Path("png_missing_iend.png").read_bytes())
        True
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

