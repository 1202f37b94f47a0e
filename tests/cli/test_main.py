"""`keras-transfer` itself: help, usage errors, exit codes, `--traceback`, `python -m keras_transfer.cli`."""

import subprocess
import sys

import pytest

from keras_transfer.cli.main import main

SUBCOMMANDS = ("fit", "evaluate", "export", "predict", "demo")


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
