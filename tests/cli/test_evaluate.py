"""`keras-transfer evaluate`: an export folder or a .keras file scored on labelled data, the report and JSON."""

import pytest

from keras_transfer.cli.main import main
from keras_transfer.serving.inference import load


def test_evaluate_an_export_folder_writes_report_and_json_matching_the_predictor(fitted, shapes_folder, tmp_path,
                                                                                read_json, capsys):
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


def test_evaluate_a_keras_file_with_labels_gives_the_same_scores(fitted, shapes_folder, tmp_path, read_json, capsys):
    _, output = fitted
    from_folder, from_keras = tmp_path / "folder.json", tmp_path / "keras.json"
    assert main(["evaluate", str(output / "export"), str(shapes_folder), "--json", str(from_folder), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(output / "export" / "model.keras"), str(shapes_folder), "--labels",
                 str(output / "export" / "labels.txt"), "--json", str(from_keras), "-q",
                 "--source-data", str(shapes_folder)]) == 0
    assert read_json(from_keras)["accuracy"] == pytest.approx(read_json(from_folder)["accuracy"])
    # The same images as source and target: a domain classifier cannot tell them apart.
    assert read_json(from_keras)["domain"]["a_distance"]["pooled backbone features"] < 0.5
    assert "domain: the data as target; A-distance pooled backbone features" in capsys.readouterr().out
    assert read_json(from_keras)["class_names"] == ["circle", "square", "triangle"]


def test_evaluate_user_errors(fitted, shapes_folder, tmp_path, assert_user_error, capsys):
    _, output = fitted
    assert_user_error(main(["evaluate", str(tmp_path / "none"), str(shapes_folder)]), capsys, "No model at")
    assert_user_error(main(["evaluate", str(shapes_folder), str(shapes_folder)]), capsys,
                      "not a keras_transfer export folder")
    (tmp_path / "other" / "hexagon").mkdir(parents=True)
    (tmp_path / "other" / "hexagon" / "a.png").write_bytes((shapes_folder / "labels.csv").read_bytes())
    assert_user_error(main(["evaluate", str(output / "export"), str(tmp_path / "other")]), capsys, "hexagon")
