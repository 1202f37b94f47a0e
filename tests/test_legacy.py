"""Old flat module paths still import, as the very modules that now hold the code."""

import importlib

import pytest

import keras_transfer
from keras_transfer._legacy import LEGACY_MODULES


@pytest.mark.parametrize("old, new", sorted(LEGACY_MODULES.items()))
def test_each_old_path_is_the_new_module(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_imports_of_the_notebooks_and_readme_keep_working():
    from keras_transfer.exporter import export
    from keras_transfer.fit import build_and_fit, resolve_precision
    from keras_transfer.pretrained import vgg16_hed_weights
    from keras_transfer.synthetic import make_shapes_arrays
    from keras_transfer.training import Stage, StagedUnfreeze

    from keras_transfer.data import DataSpec, from_arrays, load_data  # a module before, a package now
    from keras_transfer.datasets import load_fashion_mnist

    assert export is keras_transfer.export and build_and_fit is keras_transfer.build_and_fit
    assert Stage is keras_transfer.Stage and StagedUnfreeze is keras_transfer.StagedUnfreeze
    assert all(callable(f) for f in (from_arrays, load_data, load_fashion_mnist, resolve_precision,
                                     vgg16_hed_weights, make_shapes_arrays)) and DataSpec is keras_transfer.DataSpec


def test_nothing_imports_upward_from_the_package_root():
    import pathlib
    import re

    root = pathlib.Path(keras_transfer.__file__).parent
    upward = re.compile(r"^\s*from keras_transfer import ", re.MULTILINE)
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "__init__.py" and upward.search(path.read_text())]
    assert offenders == []
