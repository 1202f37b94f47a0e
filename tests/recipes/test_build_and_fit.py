"""build_and_fit end to end: learnable data to ≥90% validation accuracy, strategies, configs, label kinds."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras_transfer
from keras_transfer import ImageDataGenerator, build_and_fit, build_and_fit_from_config
from keras_transfer.data.sources import from_arrays
from keras_transfer.models.classifier import batchnorm_layers, get_backbone_layer
from keras_transfer.recipes.build_and_fit import resolve_class_weight
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train.stages import default_stages


def test_csv_to_90_percent_with_pretrained_mobilenet_and_the_default_staged_plan(shapes_folder, mobilenet_weights):
    result = build_and_fit(str(shapes_folder / "labels.csv"), backbone="mobilenet", weights=mobilenet_weights,
                           image_size=32, epochs=3, batch_size=16, verbose=0)
    assert result.metrics["accuracy"] >= 0.9, result.summary()
    assert [stage["name"] for stage in result.history] == ["head", "top_blocks", "all"]
    assert result.history[0]["trainable_blocks"] == []
    assert result.history[-1]["trainable_blocks"] == ["stem"] + [f"block{index}" for index in range(1, 14)]
    assert result.class_names == ["circle", "square", "triangle"]
    assert result.config["stages"][1]["learning_rate"] == 1e-4
    assert result.data_summary["train_counts"] == {"circle": 32, "square": 32, "triangle": 32}


def test_each_image_is_decoded_once_in_a_whole_run(shapes_arrays, counted_spec):
    # The feature extraction fills the cache; every augmented epoch, evaluation and baseline reads it.
    x, y, _ = shapes_arrays
    train, train_reads = counted_spec(x[:48], y[:48])
    val, val_reads = counted_spec(x[48:72], y[48:72])
    result = build_and_fit(train, validation_data=val, backbone=tiny_backbone(32), weights="given", image_size=32,
                           epochs=2, batch_size=16, baselines=("scratch",), verbose=0)
    assert sum(record["epochs_run"] for record in result.history) >= 4
    assert (len(train_reads), len(val_reads)) == (48, 24)


def test_image_data_generator_flows_to_90_percent(shapes_folder, vgg16_weights):
    generator = ImageDataGenerator(rotation_range=10, horizontal_flip=True, validation_split=0.2)
    train = generator.flow_from_directory(shapes_folder, target_size=(48, 48), subset="training")
    val = generator.flow_from_directory(shapes_folder, target_size=(48, 48), subset="validation")
    # head, then the top third of the blocks through the generator's batches (the default plan's 'all' stage
    # would add ~60 s alone and the same 0.958 here)
    stages = default_stages(pretrained=True, epochs=4)[:2]
    result = build_and_fit(train, validation_data=val, backbone="vgg16", weights=vgg16_weights, stages=stages,
                           batch_size=16, verbose=0)
    assert [stage["name"] for stage in result.history] == ["head", "top_blocks"]
    assert result.metrics["accuracy"] >= 0.9, result.summary()
    assert result.config["augmentation"] == {"rotation_range": 10, "horizontal_flip": True}
    assert result.config["image_size"] == [48, 48]


def test_from_scratch_is_one_stage_and_batchnorm_trains(shapes_arrays):
    x, y, _ = shapes_arrays
    result = build_and_fit((x[:48], y[:48]), backbone="resnet50v2", weights=None, image_size=32, epochs=1, verbose=0)
    assert [stage["name"] for stage in result.history] == ["all"]
    moving = [float(np.abs(bn.moving_mean.numpy()).sum()) for bn in batchnorm_layers(get_backbone_layer(result.model))]
    assert sum(moving) > 0, "BatchNorm statistics must train from scratch"


def test_saved_config_reruns_the_same_run(tmp_path, shapes_folder, vgg16_weights):
    stages = [{"name": "head", "epochs": 2, "learning_rate": 1e-3}, {"name": "all", "epochs": 1,
                                                                      "learning_rate": 1e-5, "train_blocks": "all"}]
    first = build_and_fit(str(shapes_folder), backbone="vgg16", weights=vgg16_weights, image_size=32,
                          stages=stages, seed=5, output_dir=tmp_path / "run", verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["stages"][1]["train_blocks"] == "all"
    again = build_and_fit_from_config(tmp_path / "run" / "config.json", verbose=0)
    assert again.class_names == first.class_names
    assert again.config["stages"] == first.config["stages"]
    assert abs(again.metrics["accuracy"] - first.metrics["accuracy"]) <= 0.01
    assert (tmp_path / "run" / "checkpoints" / "best.keras").exists()


def test_binary_and_multi_label_tasks(shapes_arrays):
    x, y, _ = shapes_arrays
    binary = build_and_fit((x, y == 0), backbone=tiny_backbone(32), weights=None, image_size=32, epochs=1, verbose=0)
    assert binary.model.output_shape == (None, 1) and "auc" in binary.metrics
    multi_hot = np.stack([y == 0, y != 1, y == 2], axis=1).astype("float32")
    multi = build_and_fit((x, multi_hot), backbone=tiny_backbone(32), weights=None, image_size=32, epochs=1,
                          class_names=["round", "not_square", "pointy"], verbose=0)
    assert multi.config["multi_label"] and multi.model.output_shape == (None, 3)


def test_balanced_class_weight():
    spec = from_arrays(np.zeros((8, 4, 4, 3)), [0, 0, 0, 0, 0, 0, 1, 1])
    assert resolve_class_weight("balanced", spec) == pytest.approx({0: 8 / 12, 1: 8 / 4})
    with pytest.raises(ValueError, match="'balanced' or a dict"):
        resolve_class_weight("even", spec)


def test_training_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent("""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras_transfer
        from keras_transfer.testing.synthetic import make_shapes_arrays
        from keras_transfer.testing.tiny import tiny_backbone
        x, y, _ = make_shapes_arrays(3, 12, 32)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        result = keras_transfer.build_and_fit((x, y), backbone=tiny_backbone(32), weights=None, image_size=32, epochs=2,
                                              batch_size=8, strategy=strategy, verbose=0)
        print("replicas", strategy.num_replicas_in_sync, "epochs", result.history[0]["epochs_run"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "replicas 2 epochs 2" in done.stdout


def test_public_api_is_exported():
    for name in ("build_and_fit", "build_model", "list_backbones", "StagedUnfreeze", "ImageDataGenerator", "Stage"):
        assert name in keras_transfer.__all__ and hasattr(keras_transfer, name)


def test_result_evaluates_reports_and_exports_end_to_end(tmp_path, shapes_folder, vgg16_weights):
    # The head alone (on cached features) learns the shapes well enough for this test of the result's plumbing.
    result = build_and_fit(shapes_folder, backbone="vgg16", weights=vgg16_weights, image_size=32, batch_size=16,
                           stages=[{"name": "head", "epochs": 6, "learning_rate": 1e-3}], verbose=0)
    evaluation = result.evaluate()  # the validation data
    assert evaluation.accuracy == pytest.approx(result.metrics["accuracy"], abs=1e-6)
    on_folder = result.evaluate(shapes_folder)  # a folder, read the way training reads it
    assert on_folder.num_samples == 120 and on_folder.class_names == result.class_names
    exported = result.export(tmp_path / "export", tflite=["float32"])
    assert (tmp_path / "export" / "report.html").exists()
    assert (tmp_path / "export" / "saved_model").is_dir() and exported.tflite
    predictor = keras_transfer.load(tmp_path / "export")
    circle = sorted((shapes_folder / "circle").glob("*.png"))[0]
    assert predictor.predict(str(circle))[0]["class_name"] == "circle"
    report = tmp_path / "report.html"
    result.report(report, evaluation=evaluation)
    assert "confusion-matrix" in report.read_text()


def test_precision_policy_choice_and_a_mixed_precision_run(shapes_arrays):
    from keras_transfer.train.precision import resolve_precision

    assert resolve_precision("auto") == "float32"  # this machine has no GPU
    assert resolve_precision(False) == "float32"
    assert resolve_precision("mixed_float16") == "mixed_float16"
    x, y, _ = shapes_arrays
    result = build_and_fit((x[:48], y[:48]), backbone="vgg16", weights=None, image_size=32, epochs=1, verbose=0,
                           mixed_precision="mixed_bfloat16", steps_per_execution=2)
    assert result.model.get_layer("predictions").compute_dtype == "float32"
    assert get_backbone_layer(result.model).layers[1].compute_dtype == "bfloat16"
    assert keras_transfer.build_model("vgg16", 3, weights=None, image_size=32).dtype_policy.name == "float32"


def test_class_imbalance_is_warned_about(shapes_arrays):
    x, y, _ = shapes_arrays
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1), np.flatnonzero(y == 2)[:8]])
    result = build_and_fit((x[keep], y[keep]), backbone=tiny_backbone(32), weights=None, image_size=32, epochs=1,
                           class_weight="balanced", verbose=0)
    assert any(line.startswith("Class imbalance") for line in result.warnings)
    assert result.config["class_weight"] == "balanced"
