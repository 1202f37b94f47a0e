"""The scan's cache: verdicts reused without decoding, rechecks when a file or a setting changes, where copies go."""

import json
import os
import sqlite3

import pytest

from keras_transfer.data import pillow_fallback, scan
from keras_transfer.data.scan import Reason, Status, scan_files
from keras_transfer.testing.brokenfiles import sample_image


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
    monkeypatch.setattr(pillow_fallback, "tf_decode_error", decode)
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


def test_a_broken_link_is_not_cached(tmp_path):
    target = tmp_path / "photos" / "cat.png"
    link = tmp_path / "cat.png"
    link.symlink_to(target)
    result = scan_files([link], cache_dir=tmp_path / "cache", progress=False)
    assert [c.reason for c in result.checks] == [Reason.BROKEN_LINK]
    target.parent.mkdir()
    sample_image().save(target)  # the link's target turns up: the next scan must see it
    again = scan_files([link], cache_dir=tmp_path / "cache", progress=False)
    assert [c.status for c in again.checks] == [Status.OK] and again.from_cache == 0


def test_a_corrupt_cache_file_warns_and_the_scan_still_works(mixed_folder, good_names, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "scan_cache.sqlite3").write_bytes(b"this is not a database" * 100)
    paths = [str(mixed_folder[0] / name) for name in good_names]
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
