"""A folder full of broken files trains to the end and reports each one; strict mode names the first."""

import shutil

import pytest

from keras_transfer import build_and_fit
from keras_transfer.data.scan import CorruptImageError
from keras_transfer.testing.brokenfiles import write_broken_files


@pytest.fixture
def folder_with_broken_files(shapes_folder, tmp_path):
    root = tmp_path / "photos"
    shutil.copytree(shapes_folder, root, ignore=shutil.ignore_patterns("*.csv"))
    expected = write_broken_files(root / "circle")
    return root, expected


def test_training_survives_every_kind_of_broken_file_and_reports_each(folder_with_broken_files, vgg16_weights):
    root, expected = folder_with_broken_files
    skipped_kinds = {name: outcome for name, outcome in expected.items() if outcome not in ("ok", "converted")}
    assert len(skipped_kinds) >= 10
    result = build_and_fit(root, backbone="vgg16", weights=vgg16_weights, image_size=32, epochs=1, verbose=0)
    reported = {entry["path"].rsplit("/", 1)[-1]: entry["reason"] for entry in result.data_summary["skipped"]}
    assert reported == skipped_kinds
    skipped_paths = [entry["path"] for entry in result.data_summary["skipped"]]
    assert len(skipped_paths) == len(skipped_kinds) == len(set(skipped_paths))  # each broken file listed once
    used = result.data_summary["train_size"] + result.data_summary["validation_size"]
    assert used == 120 + sum(1 for outcome in expected.values() if outcome in ("ok", "converted"))
    assert result.history[-1]["epochs_run"] == 1


def test_strict_mode_names_the_first_broken_file(folder_with_broken_files):
    root, expected = folder_with_broken_files
    with pytest.raises(CorruptImageError) as info:
        build_and_fit(root, backbone="vgg16", weights=None, image_size=32, epochs=1, strict=True, verbose=0)
    first_broken = sorted(name for name, outcome in expected.items() if outcome not in ("ok", "converted"))[0]
    assert first_broken in str(info.value) and "strict=False" in str(info.value)
