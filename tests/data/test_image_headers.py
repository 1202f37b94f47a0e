"""Sizes read from headers without decoding: decompression bombs, max_pixels, GIF sizes as TensorFlow sees them."""

import struct

import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data import pillow_fallback, scan
from keras_transfer.data.scan import DEFAULT_MAX_PIXELS, Reason, Status, check_file
from keras_transfer.testing.brokenfiles import encode, sample_image


def test_bomb_is_skipped_from_its_header_without_decoding(mixed_folder, monkeypatch):
    folder, _ = mixed_folder
    bomb = folder / "decompression_bomb.png"
    assert bomb.stat().st_size < 1000
    monkeypatch.setattr(scan, "tf_decode_error", _fail_if_called)
    monkeypatch.setattr(pillow_fallback, "tf_decode_error", _fail_if_called)
    monkeypatch.setattr(pillow_fallback.Image, "open", _fail_if_called)
    check = check_file(bomb, conversion_dir=folder / "c")
    assert (check.reason, check.width, check.height) == (Reason.TOO_MANY_PIXELS, 30_000, 30_000)


def _fail_if_called(*args, **kwargs):
    raise AssertionError("a decoder ran on a file whose header is over max_pixels")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"])
def test_max_pixels_is_a_limit_on_width_times_height(tmp_path, image_format):
    path = tmp_path / f"image.{image_format.lower()}"
    path.write_bytes(encode(sample_image(48, 40), image_format))
    assert check_file(path, max_pixels=48 * 40, conversion_dir=tmp_path / "c").kept
    check = check_file(path, max_pixels=48 * 40 - 1, conversion_dir=tmp_path / "c")
    assert (check.status, check.reason, check.width, check.height) == (Status.SKIPPED, Reason.TOO_MANY_PIXELS, 48, 40)


def test_default_max_pixels_is_pillows_bomb_limit():
    assert DEFAULT_MAX_PIXELS == 89_478_485 == Image.MAX_IMAGE_PIXELS


def test_gif_size_is_the_largest_frame_as_tensorflow_decodes_it(tmp_path):
    """TensorFlow sizes a GIF by its frames, not its logical screen: the header check must do the same."""
    gif = bytearray(encode(sample_image(16, 12).convert("P"), "GIF"))
    struct.pack_into("<HH", gif, 6, 4000, 4000)  # a huge logical screen around a 16 x 12 frame
    path = tmp_path / "screen.gif"
    path.write_bytes(bytes(gif))
    check = check_file(path, max_pixels=1000, conversion_dir=tmp_path / "c")
    decoded = tf.io.decode_image(bytes(gif), channels=3, expand_animations=False)
    assert (check.status, check.height, check.width) == (Status.OK, *decoded.shape[:2]) == (Status.OK, 12, 16)
