"""Shared fixtures of the data tests: a folder of broken and good image files, and one scan of it."""

import pytest

from keras_transfer.data.scan import Status, scan_files
from keras_transfer.testing.brokenfiles import BROKEN_FILES, sample_image, write_broken_files

GOOD_NAMES = ("good_0.jpg", "good_1.png", "good_2.jpg")


@pytest.fixture(scope="session")
def mixed_folder(tmp_path_factory):
    """The broken files of `brokenfiles` beside three good images; returns (folder, name → expected outcome)."""
    folder = tmp_path_factory.mktemp("mixed")
    expected = write_broken_files(folder)
    for seed, name in enumerate(GOOD_NAMES):
        sample_image(seed=seed).save(folder / name)
        expected[name] = Status.OK
    return folder, expected


@pytest.fixture(scope="session")
def mixed_scan(mixed_folder, tmp_path_factory):
    """One scan of the mixed folder (good files first, then the broken ones), with a cache of its own."""
    folder, _ = mixed_folder
    paths = [str(folder / name) for name in GOOD_NAMES] + [str(folder / spec.name) for spec in BROKEN_FILES]
    return paths, scan_files(paths, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


@pytest.fixture(scope="session")
def good_names():
    """The names of the three good images in `mixed_folder`."""
    return GOOD_NAMES
