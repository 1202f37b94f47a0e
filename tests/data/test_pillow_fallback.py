"""The Pillow fallback: converted copies hold the pixels Pillow reads, and damaged files are not trusted to it."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data.scan import NoteKind, Reason, Status, check_file
from keras_transfer.testing.brokenfiles import encode, sample_image


def _png_pixels(path) -> np.ndarray:
    return tf.io.decode_png(tf.io.read_file(str(path)), channels=3).numpy()


# ---------------------------------------------------------------------------------------------------------------------
# Converted copies


def test_converted_copies_hold_the_pixels_pillow_reads(mixed_folder, mixed_scan):
    folder, _ = mixed_folder
    _, result = mixed_scan
    for name in ("tiff_named_jpg.jpg", "one_bit.bmp", "palette8.bmp", "png_missing_iend.png"):
        original = str(folder / name)
        copy = result.converted[original]
        assert copy.endswith(".png") and os.path.dirname(copy) != str(folder)
        with Image.open(original) as image:
            np.testing.assert_array_equal(_png_pixels(copy), np.asarray(image.convert("RGB")), err_msg=name)


def test_palette_bmp_is_converted_because_tensorflow_ignores_the_palette(mixed_folder, mixed_scan):
    folder, _ = mixed_folder
    _, result = mixed_scan
    original = folder / "palette8.bmp"
    tf_pixels = tf.io.decode_image(original.read_bytes(), channels=3, expand_animations=False).numpy()
    copy_pixels = _png_pixels(result.converted[str(original)])
    assert np.abs(tf_pixels.astype(int) - copy_pixels).mean() > 10  # TensorFlow's reading is wrong


def test_gray_8bit_bmp_is_read_right_by_tensorflow_and_kept_as_is(tmp_path):
    path = tmp_path / "gray.bmp"
    sample_image().convert("L").save(path)
    assert check_file(path, conversion_dir=tmp_path / "c").status == Status.OK


def test_animated_webp_copy_is_its_first_frame(mixed_folder, mixed_scan):
    folder, _ = mixed_folder
    _, result = mixed_scan
    original = str(folder / "animated.webp")
    with Image.open(original) as image:
        first = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(_png_pixels(result.converted[original]), first)


def test_16bit_tiff_converts_to_the_same_pixels_tensorflow_gives_a_16bit_png(tmp_path):
    wide = (np.arange(48 * 40, dtype=np.uint32).reshape(40, 48) * 34).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.tif")
    Image.fromarray(wide).save(tmp_path / "wide.png")
    tiff = check_file(tmp_path / "wide.tif", conversion_dir=tmp_path / "c")
    png = check_file(tmp_path / "wide.png", conversion_dir=tmp_path / "c")
    assert (tiff.status, png.status) == (Status.CONVERTED, Status.OK)
    from_png = tf.io.decode_image((tmp_path / "wide.png").read_bytes(), channels=3, dtype=tf.uint8).numpy()
    np.testing.assert_array_equal(_png_pixels(tiff.converted_path), from_png)
    np.testing.assert_array_equal(from_png[..., 0], wide >> 8)


def test_gif_whose_frames_together_exceed_max_pixels_keeps_its_first_frame(tmp_path):
    frames = [sample_image(seed=seed).convert("P") for seed in range(3)]
    path = tmp_path / "clip.gif"
    path.write_bytes(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert check_file(path, max_pixels=3 * 48 * 40, conversion_dir=tmp_path / "c").status == Status.OK
    check = check_file(path, max_pixels=2 * 48 * 40, conversion_dir=tmp_path / "c")
    assert (check.status, check.frames) == (Status.CONVERTED, 3)
    assert NoteKind.ANIMATED in dict(check.notes)
    with Image.open(path) as image:
        np.testing.assert_array_equal(_png_pixels(check.converted_path), np.asarray(image.convert("RGB")))


def test_an_unwritable_conversion_folder_is_a_clear_error(mixed_folder, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the conversion folder should be")
    with pytest.raises(OSError, match="Cannot write the converted PNG copy.*cache_dir="):
        check_file(mixed_folder[0] / "tiff_named_jpg.jpg", conversion_dir=blocker)


# ---------------------------------------------------------------------------------------------------------------------
# Files Pillow reads but should not be trusted with


def test_pillow_is_not_trusted_with_damaged_png_data(mixed_folder):
    """Pillow does not check image-data CRCs: it reads this damaged PNG without complaint, one pixel wrong."""
    folder, _ = mixed_folder
    damaged = folder / "png_bad_crc.png"
    with Image.open(damaged) as image:
        wrong = (np.asarray(image.convert("RGB")) != np.asarray(sample_image())).any(axis=-1).sum()
    assert wrong == 1
    check = check_file(damaged, conversion_dir=folder / "c")
    assert (check.status, check.reason) == (Status.SKIPPED, Reason.CORRUPT)


def test_a_gif_with_an_out_of_palette_index_is_skipped_not_converted(tmp_path):
    gif = bytearray(encode(sample_image().convert("P"), "GIF"))
    table_size = 3 * (2 << (gif[10] & 7))
    gif[10] &= 0xF8  # shrink the global colour table to 2 entries: pixel indices now point outside it
    del gif[13 + 6 : 13 + table_size]
    (tmp_path / "bad.gif").write_bytes(bytes(gif))
    with Image.open(tmp_path / "bad.gif") as image:
        image.load()  # Pillow reads it anyway
    check = check_file(tmp_path / "bad.gif", conversion_dir=tmp_path / "c")
    assert (check.status, check.reason) == (Status.SKIPPED, Reason.CORRUPT)
    assert "color index" in check.detail
