"""The `keras-transfer` command line end to end on the shapes set: fit, rerun a config, evaluate, export, predict, demo.

One `fit` run (pretrained VGG16 at 32 px, the default three-stage plan at 3 epochs a stage) is shared by the
tests that evaluate, rerun and predict with its output folder; `export` is tested on a small MobileNetV3 so its
TFLite files convert quickly.
"""

import csv
import json
import subprocess
import sys
import types

import keras
import pytest

from keras_transfer.cli import main as cli
from keras_transfer.cli.main import build_parser, fit_arguments, main
from keras_transfer.models.classifier import build_model
from keras_transfer.serving.inference import load

STAGES = [{"name": "head", "epochs": 3, "learning_rate": 1e-3}, {"name": "all", "epochs": 1, "train_blocks": "all"}]
SUBCOMMANDS = ("fit", "evaluate", "export", "predict", "demo")


def fit_command(data, output, weights, *extra):
    return ["fit", str(data), "--backbone", "vgg16", "--weights", weights, "--image-size", "32",
            "--epochs", "3", "--batch-size", "16", "--seed", "3", "--output-dir", str(output), "-q", *extra]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, shapes_folder, vgg16_weights):
    """One `keras-transfer fit` run: its exit status and output folder."""
    output = tmp_path_factory.mktemp("cli") / "run"
    status = main(fit_command(shapes_folder, output, vgg16_weights))
    return status, output


def read_json(path):
    return json.loads(path.read_text())


def assert_user_error(status, capsys, *fragments):
    """Exit status 2 and a one-line `error:` message naming the problem, without a traceback."""
    err = capsys.readouterr().err
    assert status == 2, err
    assert "error:" in err and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


# --------------------------------------------------------------------------- help and usage


def test_module_help_runs_as_a_real_process():
    done = subprocess.run([sys.executable, "-m", "keras_transfer.cli", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: keras-transfer")
    for command in SUBCOMMANDS:
        assert command in done.stdout


def test_user_errors_in_a_real_process_print_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "keras_transfer.cli", "predict", str(tmp_path / "nowhere"), "x.png"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "error: No export folder at" in done.stderr and "Traceback" not in done.stderr


def test_traceback_flag_shows_the_exception_instead_of_the_one_line_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="No export folder"):
        main(["--traceback", "predict", str(tmp_path / "nowhere"), "x.png"])


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: keras-transfer {command}")


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage: keras-transfer" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "invalid choice: 'train'" in capsys.readouterr().err
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("keras-transfer ")


# --------------------------------------------------------------------------- fit


def test_fit_writes_config_metrics_export_and_report(fitted, shapes_folder, capsys):
    status, output = fitted
    assert status == 0
    config = read_json(output / "config.json")
    assert config["class_names"] == ["circle", "square", "triangle"]
    assert config["data"] == str(shapes_folder.absolute())
    assert [stage["name"] for stage in config["stages"]] == ["head", "top_blocks", "all"]
    assert {stage["epochs"] for stage in config["stages"]} == {3}
    assert config["image_size"] == [32, 32] and config["seed"] == 3 and config["batch_size"] == 16
    summary = read_json(output / "metrics.json")
    assert summary["metrics"]["accuracy"] >= 0.9, summary
    assert [stage["name"] for stage in summary["stages"]] == ["head", "top_blocks", "all"]
    predictor = load(output / "export")
    assert predictor.class_names == config["class_names"]
    assert predictor.metadata["training_config"]["stages"] == config["stages"]
    report = (output / "report.html").read_text()
    assert "<html" in report and "validation data" in report


def test_a_saved_config_reruns_the_same_run_and_resume_continues_it(fitted, tmp_path, capsys):
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


def test_fit_refuses_to_overwrite_an_earlier_run(fitted, shapes_folder, vgg16_weights, capsys):
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


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--augmentation", "{rotation: 20", "--augmentation is not valid JSON"),
    ("--image-size", "big", "--image-size must be a positive size"),
    ("--class-weight", '{"cat": 2}', "--class-weight keys must be class indices"),
    ("--stages", '{"name": "head"', "--stages is not valid JSON"),
    ("--epochs", "0", "--epochs must be at least 1"),
])
def test_bad_fit_option_values_are_user_errors(option, value, message, tmp_path, shapes_folder, capsys):
    status = main(["fit", str(shapes_folder), "-o", str(tmp_path / "run"), option, value])
    assert_user_error(status, capsys, message)


def test_fit_without_data_or_with_missing_files_is_a_user_error(tmp_path, capsys):
    assert_user_error(main(["fit", "-o", str(tmp_path / "a")]), capsys, "fit needs DATA")
    assert_user_error(main(["fit", str(tmp_path / "missing"), "-o", str(tmp_path / "b")]), capsys, "does not exist")
    assert_user_error(main(["fit", "--config", str(tmp_path / "none.json"), "-o", str(tmp_path / "c")]), capsys,
                      "No config file")
    assert_user_error(main(["fit", str(tmp_path), "-o", str(tmp_path / "d"), "--weights", "nope.h5"]), capsys,
                      "--weights")


def test_resume_is_passed_on_only_when_build_and_fit_takes_it(monkeypatch, tmp_path, shapes_folder, capsys):
    seen = {}

    def with_resume(data, output_dir=None, verbose=1, resume=False):
        seen.update(data=data, resume=resume)
        raise ValueError("stopped before training")

    monkeypatch.setattr("keras_transfer.recipes.build_and_fit.build_and_fit", with_resume)
    assert_user_error(main(["fit", str(shapes_folder), "-o", str(tmp_path / "r"), "--resume"]), capsys, "stopped")
    assert seen == {"data": str(shapes_folder.absolute()), "resume": True}

    def without_resume(data, output_dir=None, verbose=1):
        raise AssertionError("must not be called")

    monkeypatch.setattr("keras_transfer.recipes.build_and_fit.build_and_fit", without_resume)
    assert_user_error(main(["fit", str(shapes_folder), "-o", str(tmp_path / "r"), "--resume"]), capsys,
                      "--resume is not supported")


def test_rerun_overrides_adjust_the_saved_stage_plan(capsys):
    def build_and_fit(data, weights="imagenet", stages="default", epochs=None, output_dir=None, verbose=1):
        """A stand-in with the real function's relevant parameters."""

    config = {"keras_transfer_version": "0.1.0", "data": "/d", "weights": "imagenet", "epochs": None,
              "stages": [{"name": "head", "epochs": 5}, {"name": "all", "epochs": 5}], "from_the_future": 1}
    overrides = {"epochs": 2}
    kept = cli.config_for_rerun(config, overrides, build_and_fit)
    assert "from_the_future" not in kept and "from_the_future" in capsys.readouterr().err
    assert overrides["stages"] == [{"name": "head", "epochs": 2}, {"name": "all", "epochs": 2}]
    overrides = {"weights": None}
    cli.config_for_rerun(config, overrides, build_and_fit)
    assert overrides["stages"] == "default"
    with pytest.raises(ValueError, match="cannot be reloaded: give DATA"):
        cli.config_for_rerun({**config, "data": "<ndarray>"}, {}, build_and_fit)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_an_export_folder_writes_report_and_json_matching_the_predictor(fitted, shapes_folder, tmp_path,
                                                                                capsys):
    _, output = fitted
    report, metrics = tmp_path / "eval.html", tmp_path / "eval.json"
    assert main(["evaluate", str(output / "export"), str(shapes_folder / "labels.csv"), "--report", str(report),
                 "--json", str(metrics), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Evaluation(120 samples, 3 classes)" in out and "accuracy" in out
    scores = read_json(metrics)
    assert scores["num_samples"] == 120 and "<html" in report.read_text()
    predictions = load(output / "export").predict_dir(shapes_folder)
    correct = [row["class_name"] == row["input"].split("/")[-2] for row in predictions]
    assert scores["accuracy"] == pytest.approx(sum(correct) / len(correct))


def test_evaluate_a_keras_file_with_labels_gives_the_same_scores(fitted, shapes_folder, tmp_path, capsys):
    _, output = fitted
    from_folder, from_keras = tmp_path / "folder.json", tmp_path / "keras.json"
    assert main(["evaluate", str(output / "export"), str(shapes_folder), "--json", str(from_folder), "-q"]) == 0
    assert main(["evaluate", str(output / "export" / "model.keras"), str(shapes_folder), "--labels",
                 str(output / "export" / "labels.txt"), "--json", str(from_keras), "-q"]) == 0
    assert read_json(from_keras)["accuracy"] == pytest.approx(read_json(from_folder)["accuracy"])
    assert read_json(from_keras)["class_names"] == ["circle", "square", "triangle"]


def test_evaluate_user_errors(fitted, shapes_folder, tmp_path, capsys):
    _, output = fitted
    assert_user_error(main(["evaluate", str(tmp_path / "none"), str(shapes_folder)]), capsys, "No model at")
    assert_user_error(main(["evaluate", str(shapes_folder), str(shapes_folder)]), capsys,
                      "not a keras_transfer export folder")
    (tmp_path / "other" / "hexagon").mkdir(parents=True)
    (tmp_path / "other" / "hexagon" / "a.png").write_bytes((shapes_folder / "labels.csv").read_bytes())
    assert_user_error(main(["evaluate", str(output / "export"), str(tmp_path / "other")]), capsys, "hexagon")


# --------------------------------------------------------------------------- export


@pytest.fixture
def small_model(tmp_path):
    """An untrained MobileNetV3Small at 32 px saved as .keras, with its labels file."""
    keras.utils.set_random_seed(0)
    model = build_model("mobilenetv3small", 3, weights=None, image_size=32)
    path = tmp_path / "small.keras"
    model.save(path)
    labels = tmp_path / "labels.txt"
    labels.write_text("circle\nsquare\ntriangle\n")
    return path, labels


def test_export_writes_saved_model_and_tflite_files(small_model, shapes_folder, tmp_path, capsys):
    model, labels = small_model
    out = tmp_path / "exported"
    assert main(["export", str(model), str(out), "--labels", str(labels), "--tflite", "float32,int8", "--top-k", "2",
                 "--representative-data", str(shapes_folder), "--validation-data", str(shapes_folder / "labels.csv")
                 ]) == 0
    printed = capsys.readouterr().out
    assert "tflite float32" in printed and "tflite int8" in printed and "agrees with Keras" in printed
    assert (out / "saved_model" / "saved_model.pb").is_file() and (out / "model.keras").is_file()
    assert sorted(path.name for path in (out / "tflite").glob("*.tflite")) == ["model_float32.tflite",
                                                                                "model_int8.tflite"]
    predictor = load(out)
    assert predictor.class_names == ["circle", "square", "triangle"] and predictor.top_k == 2
    assert_user_error(main(["export", str(model), str(out), "--labels", str(labels)]), capsys, "--overwrite")
    assert main(["export", str(model), str(out), "--labels", str(labels), "--overwrite"]) == 0
    assert not (out / "tflite").exists()


def test_export_user_errors(small_model, tmp_path, capsys):
    model, labels = small_model
    two = tmp_path / "two.txt"
    two.write_text("cat\ndog\n")
    assert_user_error(main(["export", str(model), str(tmp_path / "a"), "--labels", str(two)]), capsys,
                      "3 output unit(s) but 2 class_names")
    assert_user_error(main(["export", str(model), str(tmp_path / "b"), "--labels", str(labels), "--tflite", "int8"]),
                      capsys, "needs representative_data")
    assert_user_error(main(["export", str(model), str(tmp_path / "c"), "--labels", str(tmp_path / "none.txt")]),
                      capsys, "No labels file")
    assert_user_error(main(["export", str(labels), str(tmp_path / "d"), "--labels", str(labels)]), capsys,
                      "not a .keras model file")
    assert not any((tmp_path / name).exists() for name in "abcd")


# --------------------------------------------------------------------------- predict


def test_predict_folders_and_files_to_csv_matches_the_predictor(fitted, shapes_folder, tmp_path, capsys):
    _, output = fitted
    square = sorted((shapes_folder / "square").glob("*.png"))[0]
    table = tmp_path / "predictions.csv"
    assert main(["predict", str(output / "export"), str(shapes_folder / "circle"), str(square), "--top-k", "2",
                 "--csv", str(table), "--batch-size", "16"]) == 0
    assert "41 predictions written" in capsys.readouterr().out
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["input", "class_name", "probability", "class_2", "probability_2"]
    assert len(rows) == 41 and rows[-1]["input"] == str(square)
    expected = load(output / "export").predict([square], top_k=2)[0]
    assert rows[-1]["class_name"] == expected["class_name"]
    assert float(rows[-1]["probability"]) == pytest.approx(expected["probability"], abs=1e-5)
    assert rows[-1]["class_2"] == expected["top_k"][1]["class_name"]


def test_predict_prints_one_line_per_image_and_skips_broken_files(fitted, shapes_folder, tmp_path, capsys):
    _, output = fitted
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.png").write_bytes(sorted((shapes_folder / "circle").glob("*.png"))[0].read_bytes())
    (folder / "broken.png").write_bytes(b"not an image")
    assert main(["predict", str(output / "export"), str(folder)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{folder / 'good.png'}\t")
    assert lines[0].split("\t")[1] in ("circle", "square", "triangle")
    assert f"skipped {folder / 'broken.png'}" in captured.err
    assert_user_error(main(["predict", str(output / "export"), str(folder / "broken.png")]), capsys,
                      "None of the 1 input images")
    assert_user_error(main(["predict", str(output / "export"), str(folder), "--top-k", "4"]), capsys,
                      "--top-k must be from 1 to 3")
    assert_user_error(main(["predict", str(output / "export"), str(tmp_path / "missing.png")]), capsys,
                      "No such image file or folder")


# --------------------------------------------------------------------------- demo


def test_demo_passes_its_options_to_the_demo_module(monkeypatch, capsys):
    parsed = build_parser().parse_args(["demo", "--seeds", "2", "--smoke", "--", "--out", "x"])
    assert (parsed.seeds, parsed.smoke, parsed.extra) == (2, True, ["--", "--out", "x"])
    calls = []
    fake = types.ModuleType("keras_transfer.demo.transfer_demo")
    fake.main = lambda argv: calls.append(argv) or (3 if "--fail" in argv else None)
    monkeypatch.setitem(sys.modules, "keras_transfer.demo.transfer_demo", fake)
    assert main(["demo", "--seeds", "2", "--smoke"]) == 0
    assert main(["demo"]) == 0
    assert main(["demo", "--", "--fail"]) == 3
    assert calls == [["--seeds", "2", "--smoke"], [], ["--fail"]]
    assert_user_error(main(["demo", "--seeds", "0"]), capsys, "--seeds must be at least 1")
    assert len(calls) == 3


def test_demo_missing_is_a_user_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "keras_transfer.demo.transfer_demo", None)
    assert_user_error(main(["demo", "--smoke"]), capsys, "The demo is not available")
