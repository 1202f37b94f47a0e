"""One JSON helper and one settings reader for every file the package writes and reads."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from keras_transfer.serialization import is_remote, read_settings, to_jsonable, write_json, write_settings


def test_numpy_paths_tuples_and_non_finite_numbers_become_plain_json():
    value = {"a": np.float32(0.5), "b": float("nan"), "c": (1, np.int64(2)), 3: Path("x/y"), "d": np.arange(2),
             "e": {np.inf}, "f": -math.inf}
    assert to_jsonable(value) == {"a": 0.5, "b": None, "c": [1, 2], "3": "x/y", "d": [0, 1], "e": [None], "f": None}


def test_settings_round_trip_as_json_and_yaml_and_writes_leave_no_partial_file(tmp_path):
    settings = {"backbone": "vgg16", "image_size": (32, 32), "score": np.float64(0.25)}
    for name in ("config.json", "config.yaml"):
        path = write_settings(tmp_path / name, settings)
        assert read_settings(path) == {"backbone": "vgg16", "image_size": [32, 32], "score": 0.25}
    write_json(tmp_path / "m.json", {"x": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "config.yaml", "m.json"]


def test_bad_settings_files_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="No config file at"):
        read_settings(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        read_settings(tmp_path / "bad.json")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping of settings, not list"):
        read_settings(tmp_path / "list.yaml")


def test_every_scheme_path_is_remote_and_file_urls_are_written_through_gfile(tmp_path):
    assert is_remote("gs://bucket/run") and is_remote("ram://x") and is_remote(f"file://{tmp_path}/a.json")
    assert not is_remote(tmp_path / "a.json") and not is_remote("runs/a")
    write_json(f"file://{tmp_path}/sub/a.json", {"accuracy": 0.5})  # pathlib would make a folder "file:"
    assert json.loads((tmp_path / "sub" / "a.json").read_text()) == {"accuracy": 0.5}
