"""keras_transfer.json: what the export says about its model, its files and how it was made."""

import json

import pytest
import tensorflow as tf

from keras_transfer.serving.inference import METADATA_FILE
from keras_transfer.serving.tflite import TFLITE_VARIANTS


def test_metadata(exported, shapes):
    metadata = json.loads((exported.directory / METADATA_FILE).read_text())
    assert metadata["class_names"] == shapes["names"]
    assert metadata["image_size"] == [32, 32]
    assert metadata["backbone"] == "mobilenetv3small"
    assert metadata["multi_label"] is False and metadata["top_k"] == 2
    assert metadata["preprocessing"]["in_model"] == "BackbonePreprocessing layer"
    assert metadata["training_config"] == {"backbone": "mobilenetv3small", "learning_rate": pytest.approx(2e-3),
                                           "epochs": 8, "root": "/x"}
    assert metadata["validation_metrics"] == {"val_accuracy": 0.97}
    assert set(metadata["versions"]) >= {"keras_transfer", "tensorflow", "keras"}
    assert metadata["versions"]["tensorflow"] == tf.__version__
    assert metadata["exported_at"].endswith("+00:00")
    listed = {item["path"]: item["size_bytes"] for item in metadata["files"]}
    assert listed == {name: size for name, size in exported.files.items() if name != METADATA_FILE}
    assert [item["variant"] for item in metadata["tflite"]] == list(TFLITE_VARIANTS)
    assert metadata["accelerator"]["function_alias"] == "tpu_func"
    assert metadata["export_checks"]["saved_model_vs_keras"]["max_abs_diff"] < 1e-4
