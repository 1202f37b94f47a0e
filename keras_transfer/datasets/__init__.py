"""Real data sets read from local copies (no download): Fashion-MNIST today, the benchmarks' domain pairs later.

`keras_transfer.datasets` was one module before 0.2; its public names still import from here.
"""

from keras_transfer.datasets.fashion_mnist import (
    DEBIAN_DIR,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    IdxFormatError,
    fashion_mnist_locations,
    find_fashion_mnist,
    keras_cache_dir,
    load_fashion_mnist,
    parse_idx,
    read_idx,
)

__all__ = [
    "DEBIAN_DIR", "FASHION_MNIST_CLASSES", "FASHION_MNIST_FILES", "IdxFormatError", "fashion_mnist_locations",
    "find_fashion_mnist", "keras_cache_dir", "load_fashion_mnist", "parse_idx", "read_idx",
]
