"""The up-front image scan: what is kept, converted or skipped, strict mode, unreadable files, the result."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.data import scan
from keras_transfer.data.images import decode_image
from keras_transfer.data.scan import (
    REASON_TEXT,
    CorruptImageError,
    FileCheck,
    NoteKind,
    Reason,
    Status,
    check_file,
    scan_files,
)
from keras_transfer.testing.brokenfiles import BROKEN_FILES, sample_image


def _outcome(check: FileCheck) -> str:
    return check.status if check.kept else check.reason


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


def test_a_dangling_symlink_is_a_broken_link_that_names_its_target(tmp_path):
    link = tmp_path / "photo.jpg"
    link.symlink_to(tmp_path / "gone" / "photo.jpg")
    check = check_file(link)
    assert (check.status, check.reason) == (Status.SKIPPED, Reason.BROKEN_LINK)
    assert str(tmp_path / "gone" / "photo.jpg") in check.detail
    assert REASON_TEXT[Reason.BROKEN_LINK] == "the link's target does not exist"


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
