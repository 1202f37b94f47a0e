"""Real datasets for the demo and the benchmarks, read from local copies first and downloaded last.

Fashion-MNIST (Zalando, MIT licence): 70,000 grayscale 28×28 images of 10
clothing classes, 60,000 for training and 10,000 for testing. `load_fashion_mnist`
looks, in order, in

1. the folder given as `cache_dir` (if any);
2. the Debian/Ubuntu package `dataset-fashion-mnist`
   (`apt-get install dataset-fashion-mnist`: `/usr/share/datasets/fashion-mnist/`);
3. the Keras cache, where `keras.datasets.fashion_mnist.load_data()` keeps its
   download (`$KERAS_HOME/datasets/fashion-mnist/`, default `~/.keras/...`);

and only when none holds the four files calls `keras.datasets.fashion_mnist.load_data()`,
which downloads them. The files are in the idx format (optionally gzipped), parsed
here with numpy and checked: a truncated or corrupt file raises `IdxFormatError`
naming the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# The Debian package dataset-fashion-mnist installs the four files here.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# The names used by the original release, the Debian package and keras.datasets.
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# idx type codes (the third byte of the magic number) → numpy big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
    """An idx file (MNIST-style) that is truncated, corrupt or not idx at all."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an idx file (gzipped when its name ends in `.gz`) into a numpy array.

    The idx format: two zero bytes, a type code (0x08 for unsigned bytes), the
    number of dimensions, each dimension as a big-endian int32, then the data.

    Args:
        path: the file, e.g. `train-images-idx3-ubyte.gz`.

    Returns:
        The array, shaped by the file's dimensions (uint8 for MNIST-style files).

    Raises:
        IdxFormatError: the file is not valid gzip, its magic number is wrong,
            or it holds fewer or more bytes than its header announces.

    Example:
        >>> labels = read_idx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        >>> labels.shape
        (10000,)
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise IdxFormatError(
            f"{path} is not a readable gzip file ({error}): the copy is corrupt or truncated; "
            "delete it (or reinstall the package it came from) and load again."
        ) from None
    return parse_idx(data, source=str(path))


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parses the bytes of an (uncompressed) idx file; see `read_idx`.

    Args:
        data: the file's bytes.
        source: the file's name, for error messages.

    Returns:
        The array.

    Raises:
        IdxFormatError: a wrong magic number or a size that does not match the header.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
        array([7, 9], dtype=uint8)
    """
    if len(data) < 4:
        raise IdxFormatError(f"{source} is too short to be an idx file ({len(data)} bytes).")
    zero1, zero2, type_code, ndim = data[0], data[1], data[2], data[3]
    if zero1 != 0 or zero2 != 0 or type_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise IdxFormatError(
            f"{source} has magic number 0x{int.from_bytes(data[:4], 'big'):08x}, which is not an idx file's "
            "(expected 0x00000801 for labels or 0x00000803 for images): the file is corrupt, or not "
            "Fashion-MNIST. Delete it and load again."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{source} is truncated inside its header ({len(data)} bytes).")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxFormatError(
            f"{source} holds {len(data) - header} bytes of data but its header announces shape {shape} "
            f"({expected} bytes): the file is truncated or corrupt. Delete it and load again."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable, native-order copy


def keras_cache_dir() -> Path:
    """Where `keras.datasets.fashion_mnist.load_data()` keeps its files.

    Returns:
        `$KERAS_HOME/datasets/fashion-mnist` (default `~/.keras/datasets/fashion-mnist`).

    Example:
        >>> keras_cache_dir().name
        'fashion-mnist'
    """
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    return home / "datasets" / "fashion-mnist"


def fashion_mnist_locations(cache_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders `load_fashion_mnist` looks in, in order.

    Args:
        cache_dir: an extra folder, looked in first.

    Returns:
        The candidate folders: `cache_dir`, the Debian package's, the Keras cache.

    Example:
        >>> [str(p) for p in fashion_mnist_locations()][0]
        '/usr/share/datasets/fashion-mnist'
    """
    locations = [Path(cache_dir).expanduser()] if cache_dir is not None else []
    return [*locations, DEBIAN_DIR, keras_cache_dir()]


def find_fashion_mnist(cache_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The first location holding all four Fashion-MNIST files.

    Args:
        cache_dir: an extra folder, looked in first.

    Returns:
        `{"train_images": path, ...}` (gzipped or not), or None when no
        location has all four.

    Example:
        >>> find_fashion_mnist()["test_labels"].name
        't10k-labels-idx1-ubyte.gz'
    """
    for folder in fashion_mnist_locations(cache_dir):
        found = {}
        for key, name in FASHION_MNIST_FILES.items():
            for candidate in (folder / f"{name}.gz", folder / name):
                if candidate.is_file():
                    found[key] = candidate
                    break
        if len(found) == len(FASHION_MNIST_FILES):
            return found
    return None


def load_fashion_mnist(
    cache_dir: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], list[str]]:
    """Loads Fashion-MNIST from a local copy, downloading it only when there is none.

    Looks in `cache_dir`, then the Debian package `dataset-fashion-mnist`
    (`/usr/share/datasets/fashion-mnist`), then the Keras cache; falls back to
    `keras.datasets.fashion_mnist.load_data()` (a download) when none holds
    the four files.

    Args:
        cache_dir: an extra folder holding the four idx files
            (`train-images-idx3-ubyte.gz`, ...), looked in first.

    Returns:
        `((x_train, y_train), (x_test, y_test), class_names)`: uint8 images
        (60000, 28, 28) and (10000, 28, 28), uint8 labels 0–9, and the 10
        class names (`FASHION_MNIST_CLASSES`).

    Raises:
        IdxFormatError: a local file is corrupt or truncated, or images and
            labels do not match.

    Example:
        >>> (x_train, y_train), (x_test, y_test), class_names = load_fashion_mnist()
        >>> x_train.shape, class_names[9]
        ((60000, 28, 28), 'Ankle boot')
    """
    files = find_fashion_mnist(cache_dir)
    if files is None:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
        return (x_train, y_train), (x_test, y_test), list(FASHION_MNIST_CLASSES)
    arrays = {key: read_idx(path) for key, path in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise IdxFormatError(
                f"Fashion-MNIST {split} files do not match: images {images.shape} from "
                f"{files[f'{split}_images']}, labels {labels.shape} from {files[f'{split}_labels']}. "
                "Expected (N, 28, 28) images and N labels: replace the files."
            )
        if labels.size and int(labels.max()) >= len(FASHION_MNIST_CLASSES):
            raise IdxFormatError(
                f"{files[f'{split}_labels']} holds label {int(labels.max())}; Fashion-MNIST labels are 0–9."
            )
    return (
        (arrays["train_images"], arrays["train_labels"]),
        (arrays["test_images"], arrays["test_labels"]),
        list(FASHION_MNIST_CLASSES),
    )
