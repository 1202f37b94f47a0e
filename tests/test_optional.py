"""Optional capabilities: never imported by the package itself; a missing extra names its pip line."""

import subprocess
import sys

import pytest

from keras_transfer.optional import MissingExtraError, require


def test_a_missing_extra_gives_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'keras-transfer\[search\]'"):
        require("keras_tuner")


def test_importing_the_package_imports_no_optional_dependency():
    code = ("import sys, keras_transfer, keras_transfer.cli; "
            "print(sorted(m for m in ('keras_hub', 'keras_tuner', 'tf2onnx') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
