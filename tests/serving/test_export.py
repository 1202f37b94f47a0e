"""export(): the artifact folder, and the options it refuses before writing anything."""

import numpy as np
import pytest

from keras_transfer.serving import savedmodel
from keras_transfer.serving.export import (
    KERAS_FILE,
    LABELS_FILE,
    METADATA_FILE,
    SAVED_MODEL_DIR,
    TFLITE_DIR,
    export,
)
from keras_transfer.serving.tflite import TFLITE_VARIANTS, resolve_tflite_variants


def test_model_learned_the_shapes(exported, shapes):
    assert exported.metadata["export_checks"]["keras_validation_accuracy"] >= 0.9


def test_artifact_layout(exported, shapes):
    folder = exported.directory
    assert folder.is_dir() and folder.name == "shapes"
    for name in (SAVED_MODEL_DIR + "/saved_model.pb", KERAS_FILE, LABELS_FILE, METADATA_FILE):
        assert (folder / name).is_file(), name
    assert (folder / LABELS_FILE).read_text().splitlines() == shapes["names"]
    assert (folder / TFLITE_DIR / LABELS_FILE).read_text().splitlines() == shapes["names"]
    assert (folder / SAVED_MODEL_DIR / "assets" / LABELS_FILE).is_file()
    on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert exported.files == on_disk
    leftovers = [p.name for p in folder.parent.iterdir() if p.name != "shapes"]
    assert leftovers == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"class_names": ["a", "b"]}, ValueError, "3 output unit.*2 class_names"),
        ({"class_names": ["a", "a", "b"]}, ValueError, "duplicates"),
        ({"class_names": ["a", "b\nc", "d"]}, ValueError, "single-line"),
        ({"top_k": 0}, ValueError, "top_k must be a positive integer"),
        ({"tflite": ["float64"]}, ValueError, "Unknown TFLite variant 'float64'"),
        ({"tflite": ["int8"]}, ValueError, "needs representative_data"),
        ({"validation_data": np.zeros((2, 32, 32, 3))}, ValueError, "validation_data needs labels"),
        ({"resize_method": "cubic"}, ValueError, "Unknown resize_method 'cubic'"),
        ({"accelerator": "gpu"}, ValueError, "Unsupported accelerator 'gpu'"),
        ({"accelerator": {"type": "tpu", "batch_size": 0}}, ValueError, "batch_size must be a positive integer"),
    ],
)
def test_bad_arguments_are_refused_before_writing(trained, shapes, tmp_path, kwargs, error, message):
    arguments = {"class_names": shapes["names"], **kwargs}
    with pytest.raises(error, match=message):
        export(trained, tmp_path / "out", **arguments)
    assert list(tmp_path.iterdir()) == []


def test_option_helpers():
    assert resolve_tflite_variants(True) == TFLITE_VARIANTS
    assert resolve_tflite_variants(False) == ()
    assert resolve_tflite_variants("fp16") == ("float16",)
    assert resolve_tflite_variants(["int8", "full_int8", "dynamic"]) == ("int8", "dynamic_int8")
    assert savedmodel.resolve_accelerator(None) is None
    assert savedmodel.resolve_accelerator("TPU") == savedmodel.DEFAULT_TPU_BATCH_SIZE
    assert savedmodel.resolve_accelerator({"type": "tpu", "batch_size": 16}) == 16
