"""`keras-transfer few-shot --add-to`: classes added to an exported prototype classifier, exported again."""

import json

import numpy as np
import pytest
from PIL import Image

import keras_transfer
from keras_transfer.cli.main import main
from keras_transfer.testing.synthetic import make_shapes_arrays
from keras_transfer.testing.tiny import tiny_backbone


@pytest.fixture(scope="module")
def shapes_small():
    x, y, names = make_shapes_arrays(4, 4, 32, seed=3)
    return x, np.array([names[i] for i in y]), names


@pytest.fixture(scope="module")
def support_export(shapes_small, tmp_path_factory):
    """What `--add-to` reads of a few-shot export (model.keras and keras_transfer.json): 3 classes, tiny backbone."""
    x, y, names = shapes_small
    chosen = np.concatenate([np.flatnonzero(y == name)[:2] for name in names[:3]])
    result = keras_transfer.few_shot((x[chosen], y[chosen]), backbone=tiny_backbone(32), weights="given",
                                     image_size=32, verbose=0)
    folder = tmp_path_factory.mktemp("cli_few_shot") / "export"
    folder.mkdir()
    result.model.save(folder / "model.keras")
    (folder / "keras_transfer.json").write_text(json.dumps({"class_names": result.class_names,
                                                            "multi_label": False}))
    return folder, result


def test_add_to_an_export_adds_the_support_classes(support_export, shapes_small, tmp_path, capsys):
    x, y, names = shapes_small
    folder = tmp_path / "support" / "star"
    folder.mkdir(parents=True)
    for index, image in enumerate(x[y == names[3]][:2]):
        Image.fromarray(image).save(folder / f"{index}.png")
    folder, result = support_export
    code = main(["few-shot", str(tmp_path / "support"), str(tmp_path / "bigger"), "--add-to", str(folder)])
    assert code == 0
    assert "4 classes now" in capsys.readouterr().err  # the status line goes to stderr
    predictor = keras_transfer.load(tmp_path / "bigger")
    assert predictor.class_names == names[:3] + ["star"]
    served = predictor.predict_probabilities(x[:3])
    assert served.shape == (3, 4)
    old = result.model.predict(x[:3], verbose=0)
    np.testing.assert_array_equal(served[:, :3].argmax(1), old.argmax(1))  # the old classes keep their order
    assert main(["few-shot", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "--add-to" in help_text and "--pooling {average,grid}" in help_text
