"""Atomic writes: an existing folder is refused or replaced safely, and a failed export changes nothing."""

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from keras_transfer.serving import atomic
from keras_transfer.serving import export as exporter
from keras_transfer.serving.atomic import commit_directory
from keras_transfer.serving.export import METADATA_FILE, TFLITE_DIR, export
from keras_transfer.serving.inference import load


def test_existing_folder_is_refused_without_overwrite(exported, trained, shapes):
    def listing():
        return {p.relative_to(exported.directory).as_posix(): p.stat().st_mtime_ns
                for p in exported.directory.rglob("*") if p.is_file()}

    before = listing()
    with pytest.raises(FileExistsError, match=r"shapes already exists: pass overwrite=True"):
        export(trained, exported.directory, class_names=shapes["names"])
    assert listing() == before
    assert sorted(p.name for p in exported.directory.parent.iterdir()) == ["shapes"]


def test_overwrite_refuses_a_folder_that_is_not_an_export(trained, shapes, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="not a keras_transfer export"):
        export(trained, folder, class_names=shapes["names"], overwrite=True)
    assert (folder / "holiday.jpg").read_bytes() == b"precious"


def test_failed_overwrite_keeps_the_old_artifact_then_overwrite_succeeds(exported, trained, shapes, tmp_path,
                                                                         monkeypatch):
    target = tmp_path / "live"
    shutil.copytree(exported.directory, target)
    before = load(exported.directory).predict_probabilities(shapes["x_val"][:6])
    original_verify = exporter.verify_saved_model

    def fail_midway(path, *args, **kwargs):
        assert (path / "saved_model.pb").is_file()  # the new SavedModel is half-way written
        raise RuntimeError("disk full")

    monkeypatch.setattr(exporter, "verify_saved_model", fail_midway)
    with pytest.raises(RuntimeError, match="disk full"):
        export(trained, target, class_names=shapes["names"], overwrite=True, top_k=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
    np.testing.assert_array_equal(load(target).predict_probabilities(shapes["x_val"][:6]), before)
    assert json.loads((target / METADATA_FILE).read_text())["top_k"] == 2

    monkeypatch.setattr(exporter, "verify_saved_model", original_verify)
    result = export(trained, target, class_names=shapes["names"], overwrite=True, top_k=1)
    assert result.directory == target and result.metadata["top_k"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live"]
    assert not (target / TFLITE_DIR).exists()
    np.testing.assert_allclose(load(target).predict_probabilities(shapes["x_val"][:6]), before, atol=1e-5)


def make_folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / METADATA_FILE).write_text(text)
    return path


def test_commit_directory_replaces_and_removes_the_old_one(tmp_path):
    target = make_folder(tmp_path / "export", "old")
    staging = make_folder(tmp_path / ".export.tmp-1", "new")
    commit_directory(staging, target)
    assert (target / METADATA_FILE).read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_commit_directory_puts_the_old_one_back_when_the_swap_fails(tmp_path, monkeypatch):
    target = make_folder(tmp_path / "export", "old")
    staging = make_folder(tmp_path / ".export.tmp-1", "new")
    calls = []
    real_rename = atomic._rename

    def flaky_rename(source, destination):
        calls.append(source)
        if source == staging:
            raise OSError("rename failed")
        real_rename(source, destination)

    monkeypatch.setattr(atomic, "_rename", flaky_rename)
    with pytest.raises(OSError, match="rename failed"):
        commit_directory(staging, target)
    assert (target / METADATA_FILE).read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.tmp-1", "export"]
    assert len(calls) == 3  # old aside, new in (fails), old back


@pytest.mark.parametrize("umask, mode", [(0o022, 0o755), (0o027, 0o750)])
def test_an_atomic_folder_gets_the_mode_of_a_plain_mkdir_under_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        with atomic.atomic_directory(tmp_path / "export") as staging:
            (staging / "labels.txt").write_text("a\n")
        (tmp_path / "plain").mkdir()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "export").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == mode
