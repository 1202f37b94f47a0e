"""Shared by the command-line tests: one `keras-transfer fit` run and the helpers the tests check output with.

One `fit` run (pretrained VGG16 at 32 px, the default three-stage plan at 2 epochs a stage) is shared by the
tests that evaluate, rerun and predict with its output folder (session scope: it is trained once for all the
files here).
"""

import json

import pytest

from keras_transfer.cli.main import main


def _fit_command(data, output, weights, *extra):
    return ["fit", str(data), "--backbone", "vgg16", "--weights", weights, "--image-size", "32",
            "--epochs", "2", "--batch-size", "16", "--seed", "3", "--output-dir", str(output), "-q", *extra]


def _read_json(path):
    return json.loads(path.read_text())


def _assert_user_error(status, capsys, *fragments):
    """Exit status 2 and a one-line `error:` message naming the problem, without a traceback."""
    err = capsys.readouterr().err
    assert status == 2, err
    assert "error:" in err and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="session")
def fit_command():
    """`fit_command(data, output, weights, *extra)`: the arguments of the shared, small `fit` run."""
    return _fit_command


@pytest.fixture(scope="session")
def read_json():
    """`read_json(path)`: a JSON file's value."""
    return _read_json


@pytest.fixture(scope="session")
def assert_user_error():
    """`assert_user_error(status, capsys, *fragments)`: status 2 and one `error:` line holding the fragments."""
    return _assert_user_error


@pytest.fixture(scope="session")
def fitted(tmp_path_factory, shapes_folder, vgg16_weights):
    """One `keras-transfer fit` run: its exit status and output folder."""
    output = tmp_path_factory.mktemp("cli") / "run"
    status = main(_fit_command(shapes_folder, output, vgg16_weights))
    return status, output
