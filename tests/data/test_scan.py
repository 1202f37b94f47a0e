"""The up-front image scan: what is kept, converted or skipped, strict mode, the cache, and unreadable files."""

import json
import os
import sqlite3
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_transfer.data import scan
from keras_transfer.data.images import decode_image
from keras_transfer.data.scan import (
    DEFAULT_MAX_PIXELS,
    CorruptImageError,
    FileCheck,
    NoteKind,
    Reason,
    Status,
    check_file,
    scan_files,
)
from keras_transfer.testing.brokenfiles import BROKEN_FILES, encode, sample_image, write_broken_files

GOOD_NAMES = ("good_0.jpg", "good_1.png", "good_2.jpg")


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory):
    """The broken files of `brokenfiles` beside three good images; returns (folder, name → expected outcome)."""
    folder = tmp_path_factory.mktemp("mixed")
    expected = write_broken_files(folder)
    for seed, name in enumerate(GOOD_NAMES):
        sample_image(seed=seed).save(folder / name)
        expected[name] = Status.OK
    return folder, expected


@pytest.fixture(scope="module")
def mixed_scan(mixed_folder, tmp_path_factory):
    """One scan of the mixed folder (good files first, then the broken ones), with a cache of its own."""
    folder, _ = mixed_folder
    paths = [str(folder / name) for name in GOOD_NAMES] + [str(folder / spec.name) for spec in BROKEN_FILES]
    return paths, scan_files(paths, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def _outcome(check: FileCheck) -> str:
    return check.status if check.kept else check.reason


def _png_pixels(path) -> np.ndarray:
    return tf.io.decode_png(tf.io.read_file(str(path)), channels=3).numpy()


# ---------------------------------------------------------------------------------------------------------------------
# What is kept, converted and skipped


def test_every_file_gets_its_expected_outcome(mixed_folder, mixed_scan):
    _, expected = mixed_folder
    _, result = mixed_scan
    outcomes = {os.path.basename(check.path): _outcome(check) for check in result.checks}
    assert outcomes == expected
    assert len(BROKEN_FILES) >= 10
    assert {spec.expected for spec in BROKEN_FILES} >= {
        Reason.ZERO_BYTE,
        Reason.CORRUPT,
        Reason.NOT_AN_IMAGE,
        Reason.TOO_MANY_PIXELS,
        Reason.UNSUPPORTED_FORMAT,
        Status.OK,
        Status.CONVERTED,
    }


def test_kept_paths_indices_and_skipped_list_line_up(mixed_folder, mixed_scan):
    _, expected = mixed_folder
    paths, result = mixed_scan
    kept = [i for i, path in enumerate(paths) if expected[os.path.basename(path)] in (Status.OK, Status.CONVERTED)]
    assert result.kept_indices == kept
    for index, usable in zip(result.kept_indices, result.paths):
        assert usable == result.converted.get(paths[index], paths[index])
    skipped = {os.path.basename(entry["path"]): entry["reason"] for entry in result.skipped}
    assert skipped == {name: outcome for name, outcome in expected.items() if outcome not in (Status.OK, "converted")}
    assert all(entry["detail"] for entry in result.skipped)
    converted = {os.path.basename(path) for path in result.converted}
    assert converted == {name for name, outcome in expected.items() if outcome == Status.CONVERTED}


def test_notes_are_reported_and_do_not_drop_files(mixed_scan):
    _, result = mixed_scan
    notes = {(os.path.basename(note["path"]), note["kind"]) for note in result.notes}
    for spec in BROKEN_FILES:
        if spec.note is not None:
            assert (spec.name, spec.note) in notes, spec.name
    wrong_extension = [note for note in result.notes if note["kind"] == NoteKind.WRONG_EXTENSION]
    assert {os.path.basename(note["path"]) for note in wrong_extension} == {"png_named_jpg.jpg", "tiff_named_jpg.jpg"}
    assert "content is PNG" in next(n["detail"] for n in wrong_extension if n["path"].endswith("png_named_jpg.jpg"))
    animated_gif = next(c for c in result.checks if c.path.endswith("animated.gif"))
    assert (animated_gif.status, animated_gif.frames) == (Status.OK, 3)


def test_skip_details_say_what_the_file_is(mixed_scan):
    _, result = mixed_scan
    detail = {os.path.basename(entry["path"]): entry["detail"] for entry in result.skipped}
    assert "HTML page" in detail["html_error_page.jpg"]
    assert "text file" in detail["text_file.jpg"]
    assert "HEIC" in detail["heic_named_jpg.jpg"]
    assert "truncated" in detail["truncated.jpg"] and "truncated" in detail["truncated.png"]
    assert "30000 x 30000" in detail["decompression_bomb.png"] and "max_pixels" in detail["decompression_bomb.png"]


def test_every_kept_path_decodes_with_the_pipeline_decoder(mixed_scan):
    _, result = mixed_scan
    for path in result.paths:
        pixels = decode_image(tf.io.read_file(path), (24, 24)).numpy()
        assert pixels.shape == (24, 24, 3) and np.isfinite(pixels).all(), path


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


# ---------------------------------------------------------------------------------------------------------------------
# Decompression bombs and max_pixels


def test_bomb_is_skipped_from_its_header_without_decoding(mixed_folder, monkeypatch):
    folder, _ = mixed_folder
    bomb = folder / "decompression_bomb.png"
    assert bomb.stat().st_size < 1000
    monkeypatch.setattr(scan, "tf_decode_error", _fail_if_called)
    monkeypatch.setattr(scan.Image, "open", _fail_if_called)
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


def test_gif_size_is_the_largest_frame_as_tensorflow_decodes_it(tmp_path):
    """TensorFlow sizes a GIF by its frames, not its logical screen: the header check must do the same."""
    gif = bytearray(encode(sample_image(16, 12).convert("P"), "GIF"))
    struct.pack_into("<HH", gif, 6, 4000, 4000)  # a huge logical screen around a 16 x 12 frame
    path = tmp_path / "screen.gif"
    path.write_bytes(bytes(gif))
    check = check_file(path, max_pixels=1000, conversion_dir=tmp_path / "c")
    decoded = tf.io.decode_image(bytes(gif), channels=3, expand_animations=False)
    assert (check.status, check.height, check.width) == (Status.OK, *decoded.shape[:2]) == (Status.OK, 12, 16)


# ---------------------------------------------------------------------------------------------------------------------
# Strict mode


def test_strict_names_the_first_bad_file_in_input_order(mixed_folder, tmp_path):
    folder, _ = mixed_folder
    paths = [folder / "good_0.jpg", folder / "tiff_named_jpg.jpg", folder / "truncated.jpg", folder / "zero_bytes.jpg"]
    with pytest.raises(CorruptImageError) as raised:
        scan_files(paths, strict=True, cache_dir=tmp_path, progress=False)
    error = raised.value
    assert isinstance(error, ValueError)
    assert (error.path, error.reason) == (str(folder / "truncated.jpg"), Reason.CORRUPT)
    message = str(error)
    assert "truncated.jpg" in message and "truncated" in error.detail and "strict=False" in message


def test_strict_accepts_convertible_files_and_notes(mixed_folder, tmp_path):
    folder, _ = mixed_folder
    names = ["good_0.jpg", "tiff_named_jpg.jpg", "png_named_jpg.jpg", "animated.gif"]
    result = scan_files([folder / name for name in names], strict=True, cache_dir=tmp_path, progress=False)
    assert result.kept_indices == [0, 1, 2, 3] and len(result.converted) == 1


# ---------------------------------------------------------------------------------------------------------------------
# The cache


@pytest.fixture
def counted(monkeypatch):
    """Counts the files `scan_files` checks and the TensorFlow decodes it runs."""
    calls = {"check_file": 0, "decode": 0}
    real_check, real_decode = scan.check_file, scan.tf_decode_error

    def check(*args, **kwargs):
        calls["check_file"] += 1
        return real_check(*args, **kwargs)

    def decode(*args, **kwargs):
        calls["decode"] += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(scan, "check_file", check)
    monkeypatch.setattr(scan, "tf_decode_error", decode)
    return calls


def _copy_folder(source, target):
    target.mkdir()
    for path in source.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    return sorted(str(path) for path in target.iterdir())


def test_second_scan_answers_from_the_cache_without_decoding(mixed_folder, tmp_path, counted):
    paths = _copy_folder(mixed_folder[0], tmp_path / "images")
    first = scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    assert counted["check_file"] == len(paths) and counted["decode"] > 10 and first.from_cache == 0
    counted.update(check_file=0, decode=0)
    second = scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    assert counted == {"check_file": 0, "decode": 0}
    assert second.from_cache == len(paths)
    assert {**second.to_dict(), "from_cache": 0} == first.to_dict()


def test_cache_rechecks_a_changed_file_only(mixed_folder, tmp_path, counted):
    paths = _copy_folder(mixed_folder[0], tmp_path / "images")
    scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    changed = next(path for path in paths if path.endswith("good_1.png"))
    with open(changed, "ab") as stream:
        stream.write(b"x")  # a new size and mtime
    counted["check_file"] = 0
    result = scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    assert counted["check_file"] == 1 and result.from_cache == len(paths) - 1


def test_cache_is_per_max_pixels(mixed_folder, tmp_path, counted):
    paths = _copy_folder(mixed_folder[0], tmp_path / "images")
    scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    counted["check_file"] = 0
    small = scan_files(paths, max_pixels=100, cache_dir=tmp_path / "cache", progress=False)
    assert counted["check_file"] == len(paths)
    assert all(check.reason == Reason.TOO_MANY_PIXELS for check in small.checks if check.width)


def test_a_deleted_converted_copy_is_made_again(mixed_folder, tmp_path):
    paths = _copy_folder(mixed_folder[0], tmp_path / "images")
    first = scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    for copy in first.converted.values():
        os.remove(copy)
    second = scan_files(paths, cache_dir=tmp_path / "cache", progress=False)
    assert second.converted == first.converted and all(map(os.path.isfile, second.converted.values()))
    assert second.from_cache == len(paths) - len(first.converted)


def test_missing_and_unreadable_files_are_not_cached(tmp_path):
    good = tmp_path / "good.png"
    sample_image().save(good)
    missing = tmp_path / "missing.jpg"
    result = scan_files([good, missing], cache_dir=tmp_path / "cache", progress=False)
    assert [c.reason for c in result.checks] == [None, Reason.MISSING]
    sample_image().save(missing, "JPEG")  # it turns up later: the next scan must see it
    again = scan_files([good, missing], cache_dir=tmp_path / "cache", progress=False)
    assert [c.status for c in again.checks] == [Status.OK, Status.OK] and again.from_cache == 1


def test_a_corrupt_cache_file_warns_and_the_scan_still_works(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "scan_cache.sqlite3").write_bytes(b"this is not a database" * 100)
    paths = [str(mixed_folder[0] / name) for name in GOOD_NAMES]
    with pytest.warns(RuntimeWarning, match="scan cache"):
        result = scan_files(paths, cache_dir=cache, progress=False)
    assert result.kept_indices == [0, 1, 2]


def test_cache_rows_are_keyed_by_absolute_path_size_and_mtime(mixed_folder, tmp_path, monkeypatch):
    monkeypatch.chdir(mixed_folder[0])
    scan_files(["good_0.jpg"], cache_dir=tmp_path, progress=False)
    with sqlite3.connect(tmp_path / "scan_cache.sqlite3") as connection:
        rows = connection.execute("SELECT path, size, mtime_ns, result FROM verdicts").fetchall()
    info = os.stat("good_0.jpg")
    assert [row[:3] for row in rows] == [(os.path.abspath("good_0.jpg"), info.st_size, info.st_mtime_ns)]
    assert json.loads(rows[0][3])["status"] == Status.OK


def test_default_cache_dir_follows_the_environment(mixed_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE_DIR", str(tmp_path / "kt"))
    result = scan_files([mixed_folder[0] / "tiff_named_jpg.jpg"], progress=False)
    assert (tmp_path / "kt" / "scan" / "scan_cache.sqlite3").is_file()
    assert next(iter(result.converted.values())).startswith(str(tmp_path / "kt" / "scan" / "converted"))


def test_cache_off_puts_copies_in_a_temporary_folder(mixed_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE_DIR", str(tmp_path / "kt"))
    result = scan_files([mixed_folder[0] / "tiff_named_jpg.jpg"], cache_dir=False, progress=False)
    copy = next(iter(result.converted.values()))
    assert os.path.isfile(copy) and not (tmp_path / "kt").exists()


# ---------------------------------------------------------------------------------------------------------------------
# Unreadable files


def test_a_directory_named_like_an_image_is_unreadable(tmp_path):
    (tmp_path / "album.jpg").mkdir()
    check = check_file(tmp_path / "album.jpg")
    assert (check.status, check.reason) == (Status.SKIPPED, Reason.UNREADABLE)
    assert "directory" in check.detail


def test_permission_denied_is_unreadable(tmp_path):
    path = tmp_path / "locked.jpg"
    sample_image().save(path)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not block reads here")
        check = check_file(path)
    finally:
        path.chmod(0o644)
    assert (check.reason, "permission denied" in check.detail) == (Reason.UNREADABLE, True)


def test_a_permission_error_while_reading_is_reported_as_unreadable(tmp_path, monkeypatch):
    """The same case as above, made to happen even as root."""
    path = tmp_path / "locked.jpg"
    sample_image().save(path)

    def denied(_path):
        raise PermissionError(13, "Permission denied", _path)

    monkeypatch.setattr(scan, "_read_file", denied)
    result = scan_files([path], cache_dir=False, progress=False)
    assert result.skipped == [
        {
            "path": str(path),
            "reason": Reason.UNREADABLE,
            "detail": "permission denied: make the file readable (chmod a+r) or run as its owner",
        }
    ]


# ---------------------------------------------------------------------------------------------------------------------
# Result object and arguments


def test_summary_and_to_dict_report_everything(mixed_scan):
    _, result = mixed_scan
    text = result.summary(limit=100)
    assert text.startswith(f"Checked {len(result.checks)} image files: {len(result.paths)} usable")
    for entry in result.skipped + result.notes:
        assert entry["path"] in text
    assert "... and" in result.summary(limit=1)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["paths"] == result.paths and data["skipped"] == result.skipped
    assert [FileCheck.from_dict(check) for check in data["checks"]] == result.checks


def test_thread_count_does_not_change_the_result(mixed_scan):
    paths, result = mixed_scan
    single = scan_files(paths, workers=1, cache_dir=False, progress=False)
    assert [_outcome(c) for c in single.checks] == [_outcome(c) for c in result.checks]
    assert single.kept_indices == result.kept_indices


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"max_pixels": 0}, "max_pixels must be a positive integer"), ({"workers": 0}, "workers must be")],
)
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        scan_files([], cache_dir=False, **arguments)


def test_an_empty_list_gives_an_empty_result():
    result = scan_files([], cache_dir=False, progress=False)
    assert (result.paths, result.skipped, result.checks) == ([], [], [])
    assert result.summary().startswith("Checked 0 image files")


def test_an_unwritable_conversion_folder_is_a_clear_error(mixed_folder, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the conversion folder should be")
    with pytest.raises(OSError, match="Cannot write the converted PNG copy.*cache_dir="):
        check_file(mixed_folder[0] / "tiff_named_jpg.jpg", conversion_dir=blocker)
