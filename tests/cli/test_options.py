"""The option-value parsers of `keras-transfer`: what they accept, and bad values as one-line user errors."""

from pathlib import Path

import pytest

from keras_transfer.cli import options
from keras_transfer.cli.main import main


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--augmentation", "{rotation: 20", "--augmentation is not valid JSON"),
    ("--image-size", "big", "--image-size must be a positive size"),
    ("--class-weight", '{"cat": 2}', "--class-weight keys must be class indices"),
    ("--stages", '{"name": "head"', "--stages is not valid JSON"),
    ("--epochs", "0", "--epochs must be at least 1"),
])
def test_bad_fit_option_values_are_user_errors(option, value, message, tmp_path, shapes_folder, assert_user_error,
                                               capsys):
    status = main(["fit", str(shapes_folder), "-o", str(tmp_path / "run"), option, value])
    assert_user_error(status, capsys, message)


def test_option_values_become_library_values(tmp_path):
    assert options.data_argument("tfds:beans:train") == "tfds:beans:train"
    assert options.data_argument("photos") == str(Path.cwd() / "photos")
    assert options.parse_weights("none") is None and options.parse_weights("ImageNet") == "imagenet"
    assert options.parse_image_size("224") == 224 and options.parse_image_size("64,48") == (64, 48)
    assert options.parse_augmentation("default") == "default" and options.parse_augmentation("off") is None
    assert options.parse_stages('{"name": "head"}') == [{"name": "head"}]
    assert options.parse_class_weight("balanced") == "balanced" and options.parse_class_weight("none") is None
    assert options.parse_list(" a, ,b ") == ["a", "b"]
    assert options.parse_fraction(0.0) == 0.0 and options.positive_int("--n")(2) == 2
    stages = tmp_path / "stages.yaml"
    stages.write_text("- name: head\n  epochs: 2\n")
    assert options.parse_stages(str(stages)) == [{"name": "head", "epochs": 2}]
    weights = tmp_path / "class_weight.json"
    weights.write_text('{"1": 4}')
    assert options.parse_class_weight(str(weights)) == {1: 4.0}


@pytest.mark.parametrize(("parse", "value", "message"), [
    (options.parse_fraction, 1.0, "--validation-split must be in"),
    (options.positive_int("--top-k"), 0, "--top-k must be at least 1"),
    (options.parse_augmentation, "[1, 2]", "--augmentation must be"),
    (options.parse_stages, "[1]", "--stages must be a JSON list of stage objects"),
    (options.parse_class_weight, "[1]", "--class-weight must be"),
    (options.parse_image_size, "0x5", "--image-size must be a positive size"),
])
def test_bad_option_values_raise_value_errors_that_name_the_option(parse, value, message):
    with pytest.raises(ValueError, match=message):
        parse(value)


def test_a_missing_weights_file_names_the_option(tmp_path):
    with pytest.raises(FileNotFoundError, match="--weights .* does not exist"):
        options.existing_weights_file(str(tmp_path / "none.h5"))
