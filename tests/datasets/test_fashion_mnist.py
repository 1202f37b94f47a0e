"""Fashion-MNIST loading: the idx parser, the lookup order, corrupt files, and the real set when installed."""

import gzip
import struct

import numpy as np
import pytest

from keras_transfer.datasets import fashion_mnist as datasets
from keras_transfer.datasets.fashion_mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    IdxFormatError,
    find_fashion_mnist,
    load_fashion_mnist,
    parse_idx,
    read_idx,
)


def idx_bytes(array: np.ndarray) -> bytes:
    """An uint8 array in the idx format: 0, 0, 0x08, ndim, big-endian dims, data."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_set(folder, train=6, test=4, seed=0, gz=True):
    """Four tiny idx files in `folder`; returns the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FASHION_MNIST_FILES.items():
        data = idx_bytes(arrays[key])
        if gz:
            with gzip.open(folder / f"{name}.gz", "wb") as handle:
                handle.write(data)
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.fixture
def locations(tmp_path, monkeypatch):
    """Debian and Keras-cache locations moved into tmp_path (both empty)."""
    debian = tmp_path / "debian"
    keras_home = tmp_path / "keras_home"
    monkeypatch.setattr(datasets, "DEBIAN_DIR", debian)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return {"debian": debian, "keras": keras_home / "datasets" / "fashion-mnist", "extra": tmp_path / "extra"}


def test_parses_images_and_labels_gzipped_and_plain(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], np.uint8)
    with gzip.open(tmp_path / "images-idx3-ubyte.gz", "wb") as handle:
        handle.write(idx_bytes(images))
    (tmp_path / "labels-idx1-ubyte").write_bytes(idx_bytes(labels))

    read_images = read_idx(tmp_path / "images-idx3-ubyte.gz")
    read_labels = read_idx(tmp_path / "labels-idx1-ubyte")
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert read_images.dtype == np.uint8 and read_images.flags.writeable


def test_parses_wider_types_big_endian():
    values = np.array([1, -2, 300], ">i4")
    data = bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + values.tobytes()
    np.testing.assert_array_equal(parse_idx(data), [1, -2, 300])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "too short"),
        (bytes([0, 0, 0x08, 1]), "truncated inside its header"),
        (bytes([0x1F, 0x8B, 0x08, 1, 0, 0, 0, 1, 5]), "magic number"),
        (bytes([0, 0, 0x08, 1]) + struct.pack(">I", 5) + b"\x01\x02", "truncated or corrupt"),
        (bytes([0, 0, 0x08, 1]) + struct.pack(">I", 1) + b"\x01\x02", "truncated or corrupt"),
    ],
)
def test_bad_idx_bytes_raise_a_clear_error(data, message):
    with pytest.raises(IdxFormatError, match=message):
        parse_idx(data, source="x-idx1-ubyte")


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(IdxFormatError, match="train-labels-idx1-ubyte.gz.*not a readable gzip"):
        read_idx(path)
    whole = gzip.compress(idx_bytes(np.zeros(100, np.uint8)))
    path.write_bytes(whole[: len(whole) // 2])  # truncated download
    with pytest.raises(IdxFormatError, match="corrupt or truncated"):
        read_idx(path)


def test_corrupt_local_copy_is_reported_not_downloaded_over(locations, monkeypatch):
    write_set(locations["debian"])
    (locations["debian"] / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    monkeypatch.setattr("keras.datasets.fashion_mnist.load_data",
                        lambda: pytest.fail("must not download when a local copy exists"))
    with pytest.raises(IdxFormatError, match="t10k-images"):
        load_fashion_mnist()


def test_lookup_order_extra_then_debian_then_keras_cache(locations):
    assert find_fashion_mnist() is None
    write_set(locations["keras"], seed=3)
    assert find_fashion_mnist()["train_images"].parent == locations["keras"]
    write_set(locations["debian"], seed=2, gz=False)  # uncompressed copies count too
    assert find_fashion_mnist()["train_images"] == locations["debian"] / "train-images-idx3-ubyte"
    extra = write_set(locations["extra"], seed=1)
    assert find_fashion_mnist(locations["extra"])["test_labels"].parent == locations["extra"]

    (x_train, y_train), (x_test, y_test), names = load_fashion_mnist(locations["extra"])
    np.testing.assert_array_equal(x_train, extra["train_images"])
    np.testing.assert_array_equal(y_test, extra["test_labels"])
    assert x_test.shape == (4, 28, 28) and names == FASHION_MNIST_CLASSES


def test_an_incomplete_folder_is_skipped(locations):
    write_set(locations["debian"])
    (locations["debian"] / "t10k-labels-idx1-ubyte.gz").unlink()
    write_set(locations["keras"])
    assert find_fashion_mnist()["test_labels"].parent == locations["keras"]


def test_downloads_through_keras_only_when_no_copy_exists(locations, monkeypatch):
    calls = []
    fake = ((np.zeros((2, 28, 28), np.uint8), np.array([0, 9], np.uint8)),
            (np.zeros((1, 28, 28), np.uint8), np.array([3], np.uint8)))
    monkeypatch.setattr("keras.datasets.fashion_mnist.load_data", lambda: calls.append(1) or fake)
    (x_train, y_train), _, names = load_fashion_mnist()
    assert calls == [1] and x_train.shape == (2, 28, 28) and names[9] == "Ankle boot"
    write_set(locations["keras"])
    load_fashion_mnist()
    assert calls == [1]


def test_mismatched_images_and_labels_are_refused(locations):
    write_set(locations["debian"], train=6)
    with gzip.open(locations["debian"] / "train-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(idx_bytes(np.zeros(5, np.uint8)))
    with pytest.raises(IdxFormatError, match="train files do not match"):
        load_fashion_mnist()


def test_labels_beyond_ten_classes_are_refused(locations):
    write_set(locations["debian"], test=2)
    with gzip.open(locations["debian"] / "t10k-labels-idx1-ubyte.gz", "wb") as handle:
        handle.write(idx_bytes(np.array([1, 12], np.uint8)))
    with pytest.raises(IdxFormatError, match="label 12"):
        load_fashion_mnist()


@pytest.mark.skipif(not (datasets.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").exists(),
                    reason="the Debian package dataset-fashion-mnist is not installed")
def test_the_real_debian_copy():
    (x_train, y_train), (x_test, y_test), names = load_fashion_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.shape == (60000,) and y_test.shape == (10000,)
    assert len(names) == 10
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
