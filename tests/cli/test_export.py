"""`keras-transfer export`: a small MobileNetV3 (its TFLite files convert quickly) to a servable folder."""

import keras
import pytest

from keras_transfer.cli.main import main
from keras_transfer.models.classifier import build_model
from keras_transfer.serving.inference import load


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


def test_export_writes_saved_model_and_tflite_files(small_model, shapes_folder, tmp_path, assert_user_error, capsys):
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


def test_export_user_errors(small_model, tmp_path, assert_user_error, capsys):
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
