"""summarize: the counts and the skipped files and notes the report and the CLI show, each file once."""

import shutil

import pytest

from keras_transfer.data.sources import load_data
from keras_transfer.data.summary import summarize
from keras_transfer.testing.brokenfiles import encode, sample_image


@pytest.fixture
def photos(shapes_folder, tmp_path):
    """The shapes folder with two broken files and a PNG named .jpg (a note) among its circles and squares."""
    root = tmp_path / "photos"
    shutil.copytree(shapes_folder, root, ignore=shutil.ignore_patterns("*.csv"))
    (root / "circle" / "empty.png").write_bytes(b"")
    (root / "square" / "notes.jpg").write_text("not an image")
    (root / "square" / "really_a_png.jpg").write_bytes(encode(sample_image(), "PNG"))
    return root


def test_a_validation_split_lists_each_skipped_file_and_note_once(photos):
    train, validation = load_data(photos, validation_split=0.25, seed=0)
    summary = summarize(train, validation)
    assert sorted(entry["path"] for entry in summary["skipped"]) == [
        str(photos / "circle" / "empty.png"),
        str(photos / "square" / "notes.jpg"),
    ]
    assert [entry["path"] for entry in summary["notes"]] == [str(photos / "square" / "really_a_png.jpg")]
    assert summary["train_size"] + summary["validation_size"] == 121


def test_separate_validation_data_lists_the_skipped_files_of_both(photos, tmp_path):
    validation_root = tmp_path / "validation"
    for name in ("circle", "square", "triangle"):
        (validation_root / name).mkdir(parents=True)
        for index in range(2):
            shutil.move(photos / name / f"{name}_{index:04d}.png", validation_root / name)
    (validation_root / "triangle" / "empty.jpg").write_bytes(b"")
    summary = summarize(*load_data(photos, validation_data=validation_root))
    assert sorted(entry["path"] for entry in summary["skipped"]) == [
        str(photos / "circle" / "empty.png"),
        str(photos / "square" / "notes.jpg"),
        str(validation_root / "triangle" / "empty.jpg"),
    ]
    assert summary["validation_size"] == 6
