"""`keras-transfer predict`: files and folders classified with the shared run's export, printed or as CSV."""

import csv

import pytest

from keras_transfer.cli.main import main
from keras_transfer.serving.inference import load


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


def test_predict_prints_one_line_per_image_and_skips_broken_files(fitted, shapes_folder, tmp_path,
                                                                  assert_user_error, capsys):
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
