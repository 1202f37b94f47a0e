"""`keras-transfer fit`: the run's files, rerunning a saved config, resuming, and how options reach build_and_fit."""

import importlib
import json

import pytest

from keras_transfer.cli.fit import config_for_rerun, fit_arguments
from keras_transfer.cli.main import build_parser, main
from keras_transfer.serving.inference import load

# The module, not the `build_and_fit` function that `keras_transfer.recipes` exports under the same name.
RECIPE = importlib.import_module("keras_transfer.recipes.build_and_fit")
STAGES = [{"name": "head", "epochs": 3, "learning_rate": 1e-3}, {"name": "all", "epochs": 1, "train_blocks": "all"}]


def test_fit_writes_config_metrics_export_and_report(fitted, shapes_folder, read_json, capsys):
    status, output = fitted
    assert status == 0
    config = read_json(output / "config.json")
    assert config["class_names"] == ["circle", "square", "triangle"]
    assert config["data"] == str(shapes_folder.absolute())
    assert [stage["name"] for stage in config["stages"]] == ["head", "top_blocks", "all"]
    assert {stage["epochs"] for stage in config["stages"]} == {2}
    assert config["image_size"] == [32, 32] and config["seed"] == 3 and config["batch_size"] == 16
    summary = read_json(output / "metrics.json")
    assert summary["metrics"]["accuracy"] >= 0.9, summary
    assert [stage["name"] for stage in summary["stages"]] == ["head", "top_blocks", "all"]
    predictor = load(output / "export")
    assert predictor.class_names == config["class_names"]
    assert predictor.metadata["training_config"]["stages"] == config["stages"]
    report = (output / "report.html").read_text()
    assert "<html" in report and "validation data" in report


def test_a_saved_config_reruns_the_same_run_and_resume_continues_it(fitted, tmp_path, read_json, capsys):
    _, first = fitted
    again = tmp_path / "again"
    assert main(["fit", "--config", str(first / "config.json"), "--output-dir", str(again), "--no-export",
                 "--no-report", "-q"]) == 0
    assert not (again / "export").exists() and not (again / "report.html").exists()
    first_config, again_config = read_json(first / "config.json"), read_json(again / "config.json")
    assert again_config["class_names"] == first_config["class_names"]
    assert again_config["stages"] == first_config["stages"]
    first_accuracy = read_json(first / "metrics.json")["metrics"]["accuracy"]
    assert abs(read_json(again / "metrics.json")["metrics"]["accuracy"] - first_accuracy) <= 0.01

    # A finished run resumes without training again, to the same model.
    assert main(["fit", "--config", str(first / "config.json"), "--output-dir", str(again), "--resume",
                 "--no-export", "--no-report", "-q"]) == 0
    assert abs(read_json(again / "metrics.json")["metrics"]["accuracy"] - first_accuracy) <= 0.01


def test_fit_refuses_to_overwrite_an_earlier_run(fitted, shapes_folder, vgg16_weights, fit_command,
                                                 assert_user_error, capsys):
    _, output = fitted
    status = main(fit_command(shapes_folder, output, vgg16_weights))
    assert_user_error(status, capsys, "already holds a run", "--overwrite")


def test_fit_options_become_build_and_fit_arguments(tmp_path):
    weights = tmp_path / "w.weights.h5"
    args = build_parser().parse_args([
        "fit", "photos", "-o", "out", "--backbone", "resnet50v2", "--weights", str(weights), "--image-size", "64x48",
        "--validation-data", "tfds:beans:validation", "--validation-split", "0.1",
        "--augmentation", '{"rotation_range": 20, "horizontal_flip": true}', "--epochs", "2", "--batch-size", "8",
        "--seed", "7", "--baselines", "linear_probe, scratch", "--class-weight", '{"0": 1, "1": 2.5}',
        "--dropout", "0.3", "--label-smoothing", "0", "--monitor", "val_accuracy", "--label-column", "tags",
        "--stages", json.dumps(STAGES),
    ])
    arguments = fit_arguments(args)
    assert arguments.pop("data").endswith("/photos")
    assert arguments == {
        "validation_data": "tfds:beans:validation", "backbone": "resnet50v2", "weights": str(weights),
        "image_size": (64, 48), "validation_split": 0.1,
        "augmentation": {"rotation_range": 20, "horizontal_flip": True}, "epochs": 2, "batch_size": 8, "seed": 7,
        "baselines": ["linear_probe", "scratch"], "class_weight": {0: 1.0, 1: 2.5}, "dropout": 0.3,
        "label_smoothing": 0.0, "monitor": "val_accuracy", "label_column": "tags", "stages": STAGES,
    }
    defaults = fit_arguments(build_parser().parse_args(["fit", "-o", "out", "--weights", "none",
                                                        "--augmentation", "none", "--class-weight", "balanced"]))
    assert defaults == {"weights": None, "augmentation": None, "class_weight": "balanced"}


def test_fit_without_data_or_with_missing_files_is_a_user_error(tmp_path, assert_user_error, capsys):
    assert_user_error(main(["fit", "-o", str(tmp_path / "a")]), capsys, "fit needs DATA")
    assert_user_error(main(["fit", str(tmp_path / "missing"), "-o", str(tmp_path / "b")]), capsys, "does not exist")
    assert_user_error(main(["fit", "--config", str(tmp_path / "none.json"), "-o", str(tmp_path / "c")]), capsys,
                      "No config file")
    assert_user_error(main(["fit", str(tmp_path), "-o", str(tmp_path / "d"), "--weights", "nope.h5"]), capsys,
                      "--weights")


def test_resume_is_passed_on_only_when_build_and_fit_takes_it(monkeypatch, tmp_path, shapes_folder,
                                                              assert_user_error, capsys):
    seen = {}

    def with_resume(data, output_dir=None, verbose=1, resume=False):
        seen.update(data=data, resume=resume)
        raise ValueError("stopped before training")

    monkeypatch.setattr(RECIPE, "build_and_fit", with_resume)
    assert_user_error(main(["fit", str(shapes_folder), "-o", str(tmp_path / "r"), "--resume"]), capsys, "stopped")
    assert seen == {"data": str(shapes_folder.absolute()), "resume": True}

    def without_resume(data, output_dir=None, verbose=1):
        raise AssertionError("must not be called")

    monkeypatch.setattr(RECIPE, "build_and_fit", without_resume)
    assert_user_error(main(["fit", str(shapes_folder), "-o", str(tmp_path / "r"), "--resume"]), capsys,
                      "--resume is not supported")


def test_rerun_overrides_adjust_the_saved_stage_plan(capsys):
    def build_and_fit(data, weights="imagenet", stages="default", epochs=None, output_dir=None, verbose=1):
        """A stand-in with the real function's relevant parameters."""

    config = {"keras_transfer_version": "0.1.0", "data": "/d", "weights": "imagenet", "epochs": None,
              "stages": [{"name": "head", "epochs": 5}, {"name": "all", "epochs": 5}], "from_the_future": 1}
    overrides = {"epochs": 2}
    kept = config_for_rerun(config, overrides, build_and_fit)
    assert "from_the_future" not in kept and "from_the_future" in capsys.readouterr().err
    assert overrides["stages"] == [{"name": "head", "epochs": 2}, {"name": "all", "epochs": 2}]
    overrides = {"weights": None}
    config_for_rerun(config, overrides, build_and_fit)
    assert overrides["stages"] == "default"
    with pytest.raises(ValueError, match="cannot be reloaded: give DATA"):
        config_for_rerun({**config, "data": "<ndarray>"}, {}, build_and_fit)
