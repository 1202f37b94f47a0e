"""The Fashion-MNIST transfer-learning demo: does a pretrained backbone beat training from scratch?

An honest, offline, CPU-sized experiment:

1. **Source task.** A small CNN learns 5 Fashion-MNIST classes (T-shirt/top,
   Trouser, Dress, Coat, Sandal) from their 30,000 training images, through
   `build_and_fit(weights=None)`. Its weights are kept under
   `saved_models/demo_source/` and reused by the next run.
2. **Target task.** The other 5 classes (Pullover, Shirt, Sneaker, Bag, Ankle
   boot), which the backbone never saw, with only `labels_per_class` labelled
   images each, drawn at random per seed.
3. **Three ways to use those labels**, all with the same architecture, the same
   labelled images and the same epoch budget:
   - *scratch*: the network from random weights (`weights=None`);
   - *linear probe*: logistic regression on the frozen source backbone's features
     (its regularization chosen by cross-validation on the labelled images);
   - *staged fine-tuning*: `build_and_fit` with the source weights: the head,
     then the top block, then everything, each at a lower learning rate.
   A control, a linear probe on the features of a *randomly initialised*
   backbone, shows how much of the probe's score the pretraining earns.
4. **Scoring** on the target classes' 5,000 Fashion-MNIST *test* images, used
   for nothing else: not for training, not for early stopping, not for choosing
   a model. With so few labels no images are held out for validation: every
   method trains on a fixed schedule, the same for every seed.
5. **Export** of the first seed's fine-tuned model to `saved_models/demo/`
   (`keras_transfer.export`), reloaded with plain TensorFlow in a fresh Python
   process that classifies a few test images.

Run it with `keras-transfer demo --seeds 3`, `python -m keras_transfer.demo --seeds 3`, or
`run_demo()`. `smoke=True` (or `KERAS_TRANSFER_DEMO_SMOKE=1`) runs the same code
on a few hundred images in seconds, for tests.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keras_transfer.datasets.fashion_mnist import load_fashion_mnist

# Each visual family of Fashion-MNIST (tops, footwear, the rest) has classes on
# both sides, as a real pretrained model has seen related categories; the target
# holds the hard pairs (Pullover/Shirt, Sneaker/Ankle boot).
SOURCE_CLASS_IDS = (0, 1, 3, 4, 5)  # T-shirt/top, Trouser, Dress, Coat, Sandal
TARGET_CLASS_IDS = (2, 6, 7, 8, 9)  # Pullover, Shirt, Sneaker, Bag, Ankle boot
SMOKE_ENV = "KERAS_TRANSFER_DEMO_SMOKE"
# The table's accuracy columns; "build_and_fit" is what build_and_fit returns with its defaults.
METHOD_COLUMNS = ("scratch", "random_probe", "linear_probe", "fine_tuned", "build_and_fit")
DEFAULT_OUTPUT_DIR = "saved_models"
EXPORT_DIRNAME = "demo"
SOURCE_DIRNAME = "demo_source"
RESULTS_FILENAME = "demo_results.json"
SOURCE_WEIGHTS_FILENAME = "backbone.weights.h5"
SOURCE_INFO_FILENAME = "source.json"
# Bump when the backbone's layers change: older saved source weights are then retrained.
ARCHITECTURE_VERSION = "fmnist_cnn-v1"
BACKBONE_WIDTHS = (16, 32, 64)
BLOCK_STARTS = tuple(f"block{index}_conv1" for index in range(1, len(BACKBONE_WIDTHS) + 1))


@dataclass(frozen=True)
class DemoSettings:
    """Every number the demo's experiment depends on.

    Attributes:
        image_size: the side the 28×28 images are resized to.
        labels_per_class: labelled target images per class (per seed).
        source_images: source training images (None: all 30,000).
        source_epochs: epochs of source pretraining.
        source_learning_rate: its peak learning rate.
        source_batch_size: its batch size.
        head_epochs, top_epochs, all_epochs: the fine-tuning stages' epochs;
            scratch trains for their sum.
        head_learning_rate: the head stage's learning rate; the top-block
            stage uses a tenth of it and the all-blocks stage a thirtieth.
        scratch_learning_rate: the from-scratch run's learning rate
            (`default_stages(pretrained=False)`'s).
        batch_size: batch size on the target task.
        test_images: target test images scored (None: all 5,000).
        export_check_images: test images the reloaded export classifies.
    """

    image_size: int = 32
    labels_per_class: int = 10
    source_images: int | None = None
    source_epochs: int = 3
    source_learning_rate: float = 2e-3
    source_batch_size: int = 64
    head_epochs: int = 30
    top_epochs: int = 15
    all_epochs: int = 15
    head_learning_rate: float = 1e-2
    scratch_learning_rate: float = 1e-3
    batch_size: int = 16
    test_images: int | None = None
    export_check_images: int = 8

    @classmethod
    def smoke(cls, **overrides) -> DemoSettings:
        """Seconds-long settings for tests: a few hundred images, one-epoch stages."""
        base = dict(labels_per_class=4, source_images=400, source_epochs=1, head_epochs=2, top_epochs=1,
                    all_epochs=1, test_images=100, export_check_images=4)
        return cls(**{**base, **overrides})

    @property
    def total_epochs(self) -> int:
        return self.head_epochs + self.top_epochs + self.all_epochs

    def stages(self) -> list:
        """The staged fine-tuning plan: head → top block → all blocks, fixed schedule (no early stopping)."""
        from keras_transfer.train import Stage

        rate = self.head_learning_rate
        return [
            Stage("head", epochs=self.head_epochs, learning_rate=rate, train_blocks=0, patience=None),
            Stage("top_blocks", epochs=self.top_epochs, learning_rate=rate / 10, train_blocks=1 / 3,
                  warmup_epochs=1 if self.top_epochs > 2 else 0, patience=None, layerwise_lr_decay=0.8),
            Stage("all", epochs=self.all_epochs, learning_rate=rate / 30, train_blocks="all",
                  warmup_epochs=1 if self.all_epochs > 2 else 0, patience=None, layerwise_lr_decay=0.8),
        ]

    def scratch_stages(self) -> list:
        """The from-scratch plan: one all-trainable stage with the fine-tuning plan's epoch budget."""
        from keras_transfer.train import Stage

        return [Stage("all", epochs=self.total_epochs, learning_rate=self.scratch_learning_rate,
                      train_blocks="all", warmup_epochs=1 if self.total_epochs > 2 else 0, patience=None)]


@dataclass
class SourceInfo:
    """The pretrained source backbone: where its weights are and how good it is.

    Attributes:
        weights: the backbone's `.weights.h5` file.
        accuracy: accuracy of the source classifier on the source classes' test images.
        test_images: how many source test images that accuracy is over.
        train_images: source training images.
        epochs: source training epochs.
        seconds: wall time of the pretraining (when it ran; see `reused`).
        reused: the weights came from an earlier run.
    """

    weights: Path
    accuracy: float
    test_images: int
    train_images: int
    epochs: int
    seconds: float
    reused: bool


@dataclass
class SeedResult:
    """One seed's scores on the target test images, and where the time went.

    Attributes:
        seed: the seed (it draws the labelled images and seeds all training).
        accuracy: `{method: test accuracy}` for `scratch`, `random_probe`,
            `linear_probe`, `fine_tuned` (the stages run although nothing is
            held out) and `build_and_fit` (what it returns by default: the
            linear probe, kept because nothing can check the fine-tuning).
        seconds: wall seconds per step: `scratch`, `linear_probe`,
            `random_probe`, `fine_tuned`, and one entry per fine-tuning stage
            (`stage:head`, ...).
        probe_c: the probe's regularization, chosen by cross-validation.
        kept_stage: the stage whose weights the fine-tuned model ended with.
    """

    seed: int
    accuracy: dict[str, float]
    seconds: dict[str, float]
    probe_c: float
    kept_stage: str | None = None

    @property
    def best_transfer(self) -> float:
        """The better of staged fine-tuning and the linear probe."""
        return max(self.accuracy["fine_tuned"], self.accuracy["linear_probe"])

    @property
    def gain(self) -> float:
        """Best transfer minus scratch, in accuracy (0.1 = 10 points)."""
        return self.best_transfer - self.accuracy["scratch"]


@dataclass
class ExportCheck:
    """The exported model, reloaded in a fresh process.

    Attributes:
        directory: the export folder.
        predictions: the class names the reloaded SavedModel gave.
        expected: the in-memory model's class names for the same images.
        true_labels: the images' true class names.
        seconds: wall time of export + reload + prediction.
    """

    directory: Path
    predictions: list[str]
    expected: list[str]
    true_labels: list[str]
    seconds: float

    @property
    def agreement(self) -> float:
        """Share of images where the reloaded model agrees with the in-memory one."""
        return float(np.mean([a == b for a, b in zip(self.predictions, self.expected)])) if self.expected else 0.0


@dataclass
class DemoResult:
    """What `run_demo` returns: the settings, the source model, each seed's scores, the export.

    Attributes:
        settings: the `DemoSettings` used.
        source_classes, target_classes: class names on each side.
        source: the source backbone.
        seeds: one `SeedResult` per seed.
        export: the export check (None when export was skipped or unavailable).
        export_note: why there is no export, if there is none.
        smoke: whether this was a smoke run.
        seconds: total wall time.
        output_dir: where the demo wrote.
    """

    settings: DemoSettings
    source_classes: list[str]
    target_classes: list[str]
    source: SourceInfo
    seeds: list[SeedResult]
    export: ExportCheck | None = None
    export_note: str = ""
    smoke: bool = False
    seconds: float = 0.0
    output_dir: Path = field(default_factory=lambda: Path(DEFAULT_OUTPUT_DIR))
    test_images: int = 0

    def mean(self, method: str) -> float:
        """Mean test accuracy of a method over the seeds."""
        return float(np.mean([seed.accuracy[method] for seed in self.seeds]))

    def spread(self, method: str) -> float:
        """Max − min test accuracy of a method over the seeds."""
        values = [seed.accuracy[method] for seed in self.seeds]
        return float(max(values) - min(values))

    @property
    def mean_gain(self) -> float:
        """Mean over seeds of (better transfer method − scratch)."""
        return float(np.mean([seed.gain for seed in self.seeds]))

    @property
    def gain_spread(self) -> float:
        """Max − min of the per-seed gains."""
        gains = [seed.gain for seed in self.seeds]
        return float(max(gains) - min(gains))

    def table(self) -> str:
        """The printable summary: setup, per-seed accuracies, gains, wall times, the export check."""
        s = self.settings
        lines = [
            "Fashion-MNIST transfer demo" + (" (SMOKE: tiny data, numbers mean nothing)" if self.smoke else ""),
            f"  source: {', '.join(self.source_classes)} — {self.source.train_images:,} images, "
            f"{self.source.epochs} epoch{'' if self.source.epochs == 1 else 's'}, "
            f"test accuracy {self.source.accuracy:.3f} on "
            f"{self.source.test_images:,} source test images "
            + (f"(weights reused from {self.source.weights.parent})" if self.source.reused
               else f"(pretrained in {self.source.seconds:.0f} s)"),
            f"  target: {', '.join(self.target_classes)} — {s.labels_per_class} labelled images per class, "
            f"{s.image_size} px; scored on {self.test_images:,} target test images",
            "",
        ]
        header = ["seed", "scratch", "probe(random)", "linear probe", "fine-tuned", "returned", "best transfer",
                  "gain"]
        rows = [[str(seed.seed), *(f"{seed.accuracy[m]:.3f}" for m in METHOD_COLUMNS),
                 f"{seed.best_transfer:.3f}", f"{100 * seed.gain:+.1f} pts"] for seed in self.seeds]
        if len(self.seeds) > 1:
            rows.append(["mean", *(f"{self.mean(m):.3f}" for m in METHOD_COLUMNS),
                         f"{np.mean([seed.best_transfer for seed in self.seeds]):.3f}",
                         f"{100 * self.mean_gain:+.1f} pts"])
            rows.append(["spread", *(f"{self.spread(m):.3f}" for m in METHOD_COLUMNS),
                         f"{max(x.best_transfer for x in self.seeds) - min(x.best_transfer for x in self.seeds):.3f}",
                         f"{100 * self.gain_spread:.1f} pts"])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines.append("  " + " | ".join(h.rjust(w) for h, w in zip(header, widths)))
        lines.append("  " + "-+-".join("-" * w for w in widths))
        lines += ["  " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
        lines.append("")
        lines.append("  gain = best transfer (the better of linear probe and fine-tuned) − scratch; "
                     "probe(random) = linear probe on a randomly initialised backbone (control)")
        lines.append("  returned = what build_and_fit returns by default: with nothing held out to check the "
                     "fine-tuning, the linear probe (with a warning)")
        first = self.seeds[0]
        stage_times = ", ".join(f"{key.split(':', 1)[1]} {value:.1f}"
                                for key, value in first.seconds.items() if key.startswith("stage:"))
        lines.append(f"  wall time, seed {first.seed} (s): scratch {first.seconds['scratch']:.1f}, linear probe "
                     f"{first.seconds['linear_probe']:.1f}, fine-tuning {first.seconds['fine_tuned']:.1f} "
                     f"(stages: {stage_times})")
        if self.export is not None:
            agree = sum(a == b for a, b in zip(self.export.predictions, self.export.expected))
            right = sum(a == b for a, b in zip(self.export.predictions, self.export.true_labels))
            lines.append(f"  export: {self.export.directory} — reloaded in a fresh process with plain TensorFlow: "
                         f"{agree}/{len(self.export.expected)} predictions match the in-memory model, "
                         f"{right}/{len(self.export.true_labels)} correct ({self.export.seconds:.1f} s)")
        elif self.export_note:
            lines.append(f"  export: skipped ({self.export_note})")
        lines.append(f"  total wall time: {self.seconds:.0f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The result as JSON-able data (written to `demo_results.json`)."""
        export = None
        if self.export is not None:
            export = {**dataclasses.asdict(self.export), "directory": str(self.export.directory),
                      "agreement": self.export.agreement}
        return {
            "smoke": self.smoke,
            "settings": dataclasses.asdict(self.settings),
            "source_classes": self.source_classes,
            "target_classes": self.target_classes,
            "test_images": self.test_images,
            "source": {**dataclasses.asdict(self.source), "weights": str(self.source.weights)},
            "seeds": [{**dataclasses.asdict(seed), "best_transfer": seed.best_transfer, "gain": seed.gain}
                      for seed in self.seeds],
            "mean": {m: self.mean(m) for m in ("scratch", "random_probe", "linear_probe", "fine_tuned")},
            "spread": {m: self.spread(m) for m in ("scratch", "random_probe", "linear_probe", "fine_tuned")},
            "mean_gain": self.mean_gain,
            "gain_spread": self.gain_spread,
            "export": export,
            "export_note": self.export_note,
            "seconds": self.seconds,
        }


# --------------------------------------------------------------------------- the backbone


def demo_backbone(image_size: int = 32):
    """A fresh, randomly initialised small CNN: the demo's backbone.

    Three blocks of two 3×3 convolutions (16, 32, 64 filters) with BatchNorm and
    ReLU, each ending in 2×2 max-pooling. The final feature map is kept whole
    (reshaped to 1×1×C·H·W rather than averaged): on centred 28-px images the
    position of a feature matters, and whole maps probe clearly better than averages.

    Args:
        image_size: the (square) input side; the weights depend on it.

    Returns:
        A `keras.Model` from (image_size, image_size, 3) inputs (already
        preprocessed to −1..1) to a (1, 1, D) feature map.

    Example:
        >>> demo_backbone(32).output_shape
        (None, 1, 1, 1024)
    """
    import keras

    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = inputs
    for block, filters in enumerate(BACKBONE_WIDTHS, start=1):
        for conv in (1, 2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv{conv}")(x)
            x = keras.layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
            x = keras.layers.ReLU(name=f"block{block}_relu{conv}")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = keras.layers.Reshape((1, 1, -1), name="spatial_features")(x)
    return keras.Model(inputs, x, name="fmnist_cnn")


def demo_backbone_spec(image_size: int = 32, weights: str | os.PathLike | None = None, seed: int | None = None):
    """The demo backbone as a `BackboneSpec` for `build_and_fit` (a fresh model each call).

    The model is built here, before `build_and_fit` seeds anything, so its
    random initial weights come from `seed`, not from whatever ran before.

    Args:
        image_size: the input side.
        weights: a `.weights.h5` file to load (the source backbone), or None.
        seed: seeds the random initial weights (`keras.utils.set_random_seed`); None leaves the seeds alone.

    Returns:
        A `BackboneSpec` with "tf" preprocessing (pixels / 127.5 − 1) and one block per conv block.

    Example:
        >>> spec = demo_backbone_spec(32)
        >>> [block.name for block in spec.blocks(spec.user_model)]
        ['block1_conv1', 'block2_conv1', 'block3_conv1']
    """
    import keras

    from keras_transfer.models.backbones import custom_backbone

    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = demo_backbone(image_size)
    if weights is not None:
        model.load_weights(str(weights))
    return custom_backbone(model, preprocessing="tf", blocks=list(BLOCK_STARTS), name="fmnist_cnn")


# --------------------------------------------------------------------------- data


def select_classes(images: np.ndarray, labels: np.ndarray, class_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The images of `class_ids`, with labels renumbered 0..len(class_ids)-1 in that order.

    Args:
        images: (N, ...) images.
        labels: (N,) original class ids.
        class_ids: the classes to keep.

    Returns:
        `(images, labels)` of the kept classes.

    Example:
        >>> select_classes(np.zeros((3, 2, 2)), np.array([5, 2, 5]), [2, 5])[1]
        array([1, 0, 1])
    """
    lookup = np.full(int(max(labels.max(), *class_ids)) + 1, -1, dtype=np.int64)
    lookup[list(class_ids)] = np.arange(len(class_ids))
    keep = np.flatnonzero(np.isin(labels, class_ids))
    return images[keep], lookup[labels[keep]]


def sample_per_class(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Draws `per_class` indices of each class at random (seeded), without replacement.

    Args:
        labels: (N,) class ids.
        per_class: indices per class.
        seed: the draw's seed.

    Returns:
        The sorted indices.

    Raises:
        ValueError: a class has fewer than `per_class` images.

    Example:
        >>> sample_per_class(np.array([0, 0, 1, 1, 1]), 1, seed=0).size
        2
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        pool = np.flatnonzero(labels == label)
        if len(pool) < per_class:
            raise ValueError(f"Class {label} has {len(pool)} images, fewer than the {per_class} asked for.")
        chosen.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _subsample(images: np.ndarray, labels: np.ndarray, count: int | None, seed: int):
    """A stratified random subset of `count` images (all of them when count is None or too large)."""
    if count is None or count >= len(labels):
        return images, labels
    classes = np.unique(labels)
    indices = sample_per_class(labels, max(1, count // len(classes)), seed)
    return images[indices], labels[indices]


# --------------------------------------------------------------------------- the steps


def pretrain_source(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: Sequence[str],
    settings: DemoSettings,
    folder: str | os.PathLike,
    *,
    retrain: bool = False,
    verbose: int = 1,
) -> SourceInfo:
    """Trains the backbone on the source classes (or reuses the weights an earlier run saved).

    The weights are reused when `folder` holds a run with the same
    architecture, classes, image size, image count and epochs.

    Args:
        train: source `(images, labels)` for training.
        test: source `(images, labels)` for scoring the source model.
        class_names: the source class names.
        settings: the demo's settings.
        folder: where the weights and `source.json` live.
        retrain: train even when matching weights exist.
        verbose: 1 prints a line.

    Returns:
        A `SourceInfo`.

    Example:
        >>> info = pretrain_source((x, y), (x_test, y_test), names, DemoSettings(), "saved_models/demo_source")
    """
    from keras_transfer.models.classifier import get_backbone_layer
    from keras_transfer.recipes.build_and_fit import build_and_fit
    from keras_transfer.train import Stage

    folder = Path(folder)
    weights, info_file = folder / SOURCE_WEIGHTS_FILENAME, folder / SOURCE_INFO_FILENAME
    key = {"architecture": ARCHITECTURE_VERSION, "classes": list(class_names), "image_size": settings.image_size,
           "train_images": int(len(train[1])), "epochs": settings.source_epochs,
           "learning_rate": settings.source_learning_rate, "batch_size": settings.source_batch_size, "seed": 0}
    if not retrain and weights.is_file() and info_file.is_file():
        saved = json.loads(info_file.read_text())
        if saved.get("key") == key:
            if verbose:
                print(f"Source backbone: reusing {weights} (test accuracy {saved['accuracy']:.3f}).")
            return SourceInfo(weights, saved["accuracy"], saved["test_images"], key["train_images"],
                              settings.source_epochs, saved["seconds"], reused=True)
    if verbose:
        print(f"Source backbone: training on {len(train[1]):,} images of {', '.join(class_names)} "
              f"for {settings.source_epochs} epochs...", flush=True)
    started = time.perf_counter()
    result = build_and_fit(
        train, backbone=demo_backbone_spec(settings.image_size, seed=0), weights=None, image_size=settings.image_size,
        validation_split=0, class_names=list(class_names),
        stages=[Stage("all", epochs=settings.source_epochs, learning_rate=settings.source_learning_rate,
                      train_blocks="all", patience=None)],
        # verbose=2: Keras' one line per epoch, so a log file or CI shows progress, not minutes of silence.
        batch_size=settings.source_batch_size, seed=0, verbose=2 if verbose else 0,
    )
    seconds = time.perf_counter() - started
    accuracy = test_accuracy(result.model, test, class_names, settings.image_size)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".weights.h5", delete=False) as handle:
        partial = Path(handle.name)
    try:
        get_backbone_layer(result.model).save_weights(str(partial))
        os.replace(partial, weights)  # a reader never sees half a file
    finally:
        partial.unlink(missing_ok=True)
    info_file.write_text(json.dumps({"key": key, "accuracy": accuracy, "test_images": int(len(test[1])),
                                     "seconds": seconds}, indent=2))
    if verbose:
        print(f"Source backbone: test accuracy {accuracy:.3f} after {seconds:.0f} s; saved to {weights}.")
    return SourceInfo(weights, accuracy, int(len(test[1])), key["train_images"], settings.source_epochs, seconds,
                      reused=False)


def test_accuracy(model, data: tuple[np.ndarray, np.ndarray], class_names: Sequence[str], image_size: int) -> float:
    """Top-1 accuracy of a classifier on `(images, int labels)` arrays, through the training pipeline's resizing.

    Args:
        model: a classifier taking RGB pixels 0–255.
        data: `(images (N, H, W) or (N, H, W, C), labels (N,))`.
        class_names: the classes, in output order.
        image_size: the model's input side.

    Returns:
        The accuracy in 0..1.

    Example:
        >>> test_accuracy(result.model, (x_test, y_test), names, 32)
    """
    return float(np.mean(predict_classes(model, data[0], class_names, image_size) == np.asarray(data[1])))


def predict_classes(model, images: np.ndarray, class_names: Sequence[str], image_size: int) -> np.ndarray:
    """Class ids a classifier predicts for raw images (grayscale or RGB, any size), batched.

    Args:
        model: a classifier taking RGB pixels 0–255.
        images: (N, H, W) or (N, H, W, C) pixels.
        class_names: the classes, in output order.
        image_size: the model's input side.

    Returns:
        (N,) class ids.

    Example:
        >>> predict_classes(result.model, x_test[:4], names, 32)
    """
    from keras_transfer.data.pipeline import make_dataset
    from keras_transfer.data.sources import from_arrays

    spec = from_arrays(images, np.zeros(len(images), np.int64), class_names=list(class_names))
    dataset = make_dataset(spec, (image_size, image_size), 256, cache=False)
    # Eager calls: model.predict would trace a new function for every model the demo scores.
    return np.concatenate([np.asarray(model(pixels, training=False)).argmax(axis=1) for pixels, _ in dataset])


def fit_linear_probe(model, train_spec, image_size: int, batch_size: int, seed: int):
    """Logistic regression on a classifier's frozen backbone features, C chosen by cross-validation.

    Args:
        model: a `build_model` classifier (pretrained or random backbone).
        train_spec: the labelled images (`DataSpec`).
        image_size: the input side.
        batch_size: images per forward pass.
        seed: seeds the folds and the solver.

    Returns:
        `(probe, C)`: a Keras classifier (pixels → probabilities) and the chosen C.

    Example:
        >>> probe, c = fit_linear_probe(model, spec, 32, 16, seed=0)
    """
    from keras_transfer.methods.linear_probe import choose_regularization, linear_probe
    from keras_transfer.train.feature_cache import extract_features

    features, labels = extract_features(model, train_spec, (image_size, image_size), batch_size)
    best_c, _ = choose_regularization(features, labels, seed=seed)
    return linear_probe(model, (features, labels), regularization=best_c, seed=seed), best_c


def run_seed(
    seed: int,
    target_train: tuple[np.ndarray, np.ndarray],
    target_test: tuple[np.ndarray, np.ndarray],
    class_names: Sequence[str],
    source: SourceInfo,
    settings: DemoSettings,
    *,
    verbose: int = 1,
):
    """One seed of the target experiment: scratch, random-feature probe, linear probe, staged fine-tuning.

    Args:
        seed: draws the labelled images and seeds every run.
        target_train: the target classes' training images and labels (the pool drawn from).
        target_test: the target classes' test images and labels (scored only).
        class_names: the target class names.
        source: the pretrained backbone.
        settings: the demo's settings.
        verbose: 1 prints a line per method.

    Returns:
        `(SeedResult, FitResult of the fine-tuning run)`.

    Example:
        >>> seed_result, fit = run_seed(0, (x, y), (x_test, y_test), names, source, DemoSettings())
    """

    from keras_transfer.data.sources import from_arrays
    from keras_transfer.models.classifier import build_model
    from keras_transfer.recipes.build_and_fit import build_and_fit

    size = settings.image_size
    chosen = sample_per_class(target_train[1], settings.labels_per_class, seed)
    labelled = (target_train[0][chosen], target_train[1][chosen])
    names = list(class_names)
    # Same images, labels, augmentation, batch size and epoch budget for every method;
    # no validation split: with a handful of labels each trains on all of them, on a fixed schedule.
    common = dict(image_size=size, validation_split=0, class_names=names, batch_size=settings.batch_size,
                  seed=seed, verbose=0)
    accuracy, seconds = {}, {}

    started = time.perf_counter()
    scratch = build_and_fit(labelled, backbone=demo_backbone_spec(size, seed=seed), weights=None,
                            stages=settings.scratch_stages(), **common)
    accuracy["scratch"] = test_accuracy(scratch.model, target_test, names, size)
    seconds["scratch"] = time.perf_counter() - started
    del scratch

    train_spec = from_arrays(*labelled, class_names=names)
    probe_c = 1.0
    for method, weights in (("random_probe", None), ("linear_probe", source.weights)):
        started = time.perf_counter()
        spec = demo_backbone_spec(size, weights, seed=seed)
        model = build_model(spec, len(names), weights=None if weights is None else str(weights), image_size=size)
        probe, c = fit_linear_probe(model, train_spec, size, settings.batch_size, seed)
        probe_c = c if weights is not None else probe_c
        accuracy[method] = test_accuracy(probe, target_test, names, size)
        seconds[method] = time.perf_counter() - started

    # The recipe's defaults (the head stage on cached features, warm-started at the linear probe), the demo's stages.
    recipe = dict(weights=str(source.weights), stages=settings.stages(), **common)
    started = time.perf_counter()
    # What build_and_fit returns by default: with nothing held out it keeps the linear probe (and says why).
    returned = build_and_fit(labelled, backbone=demo_backbone_spec(size, source.weights, seed=seed), **recipe)
    accuracy["build_and_fit"] = test_accuracy(returned.model, target_test, names, size)
    seconds["build_and_fit"] = time.perf_counter() - started
    started = time.perf_counter()
    fine_tuned = build_and_fit(labelled, backbone=demo_backbone_spec(size, source.weights, seed=seed),
                               method_options={"without_validation": "fine_tune"}, **recipe)
    accuracy["fine_tuned"] = test_accuracy(fine_tuned.model, target_test, names, size)
    seconds["fine_tuned"] = time.perf_counter() - started
    for stage in fine_tuned.history:
        seconds[f"stage:{stage['name']}"] = float(stage.get("wall_seconds", 0.0))
    result = SeedResult(seed=seed, accuracy=accuracy, seconds=seconds, probe_c=probe_c,
                        kept_stage=fine_tuned.kept_stage)
    if verbose:
        print(f"Seed {seed}: scratch {accuracy['scratch']:.3f}, probe on random features "
              f"{accuracy['random_probe']:.3f}, linear probe {accuracy['linear_probe']:.3f} (C={probe_c:g}), "
              f"fine-tuned {accuracy['fine_tuned']:.3f}, build_and_fit returns {accuracy['build_and_fit']:.3f}; "
              f"gain {100 * result.gain:+.1f} points", flush=True)
    return result, fine_tuned


_RELOAD_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf
    folder, pixels_file, signature = sys.argv[1:4]
    model = tf.saved_model.load(os.path.join(folder, "saved_model"))
    pixels = tf.constant(np.load(pixels_file).astype("float32"))
    outputs = model.signatures[signature](pixels=pixels)
    names = [name.decode() for name in outputs["class_names"].numpy()[:, 0]]
    print("RELOADED " + json.dumps(names))
""")


def export_and_reload(fit_result, images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                      directory: str | os.PathLike, report_data=None) -> ExportCheck:
    """Exports a fine-tuned model, reloads it in a fresh Python process and classifies a few images.

    The child process imports only TensorFlow and numpy: the SavedModel's
    `serving_pixels` signature carries the resizing, preprocessing and class
    names, so a client needs nothing of keras_transfer.

    Args:
        fit_result: the `FitResult` to export.
        images: a few raw test images (N, 28, 28) to classify after reloading.
        labels: their true class ids.
        class_names: the class names.
        directory: the export folder (replaced if it holds an earlier export).
        report_data: `(images, labels)` to write `report.html` on (the test images), or None.

    Returns:
        An `ExportCheck`.

    Raises:
        RuntimeError: the fresh process failed to load or run the export.

    Example:
        >>> check = export_and_reload(fit, x_test[:8], y_test[:8], names, "saved_models/demo")
        >>> check.agreement
        1.0
    """
    from keras_transfer.data.sources import from_arrays
    from keras_transfer.serving.inference import SERVING_PIXELS

    started = time.perf_counter()
    exported = fit_result.export(directory, overwrite=True, report=False)
    folder = Path(exported.directory)
    if report_data is not None:
        fit_result.report(folder / "report.html", data=from_arrays(*report_data, class_names=list(class_names)))
    size = fit_result.image_size[0]
    expected = [class_names[i] for i in predict_classes(fit_result.model, images, class_names, size)]
    rgb = np.repeat(images[..., None], 3, axis=-1) if images.ndim == 3 else images
    with tempfile.TemporaryDirectory() as scratch:
        pixels_file = Path(scratch) / "pixels.npy"
        np.save(pixels_file, rgb.astype(np.uint8))
        completed = subprocess.run(
            [sys.executable, "-c", _RELOAD_SCRIPT, str(folder), str(pixels_file), SERVING_PIXELS],
            capture_output=True, text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RELOADED ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"Reloading {folder} in a fresh process failed (exit {completed.returncode}):\n"
                           f"{completed.stderr[-2000:]}")
    predictions = json.loads(lines[-1][len("RELOADED "):])
    return ExportCheck(directory=folder, predictions=predictions, expected=expected,
                       true_labels=[class_names[int(i)] for i in labels], seconds=time.perf_counter() - started)


# --------------------------------------------------------------------------- the demo


def resolve_settings(
    smoke: bool | None = None,
    *,
    labels_per_class: int | None = None,
    image_size: int | None = None,
    settings: DemoSettings | None = None,
) -> tuple[bool, DemoSettings]:
    """Whether this is a smoke run, and the settings it uses.

    Args:
        smoke: True/False, or None to read `KERAS_TRANSFER_DEMO_SMOKE` (1, true or yes).
        labels_per_class: overrides the settings' field when given.
        image_size: overrides the settings' field when given.
        settings: the base settings (default: `DemoSettings()`, or `DemoSettings.smoke()`).

    Returns:
        `(smoke, settings)`.

    Raises:
        ValueError: `labels_per_class` below 1 or an image size below 8.

    Example:
        >>> resolve_settings(True, labels_per_class=2)[1].labels_per_class
        2
    """
    if smoke is None:
        smoke = os.environ.get(SMOKE_ENV, "").strip().lower() in ("1", "true", "yes")
    settings = settings or (DemoSettings.smoke() if smoke else DemoSettings())
    overrides = {key: value for key, value in (("labels_per_class", labels_per_class), ("image_size", image_size))
                 if value is not None}
    settings = dataclasses.replace(settings, **overrides)
    if settings.labels_per_class < 1:
        raise ValueError(f"labels_per_class must be at least 1, got {settings.labels_per_class}.")
    if settings.image_size < 8:
        raise ValueError(f"image_size must be at least 8 (three 2x2 poolings), got {settings.image_size}.")
    return bool(smoke), settings


@contextlib.contextmanager
def _known_noise_silenced() -> Iterator[None]:
    """Hides the warnings the demo triggers on purpose, for as long as it runs."""
    # Keras warns that a tf.data pipeline ignores shuffle=True; the pipeline shuffles itself.
    # ...and TensorFlow warns about retracing when many small models are scored one after another.
    logger = logging.getLogger("tensorflow")
    level = logger.level
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


@_known_noise_silenced()
def run_demo(
    seeds: Sequence[int] = (0,),
    *,
    labels_per_class: int | None = None,
    image_size: int | None = None,
    smoke: bool | None = None,
    output_dir: str | os.PathLike = DEFAULT_OUTPUT_DIR,
    export: bool = True,
    retrain_source: bool = False,
    data_dir: str | os.PathLike | None = None,
    settings: DemoSettings | None = None,
    verbose: int = 1,
) -> DemoResult:
    """Runs the transfer experiment: source pretraining, then scratch vs linear probe vs fine-tuning per seed.

    Args:
        seeds: one target experiment per seed (each draws its own labelled images).
        labels_per_class: labelled target images per class (default 10; 4 in smoke mode).
        image_size: the side images are resized to (default 32).
        smoke: a seconds-long run on a few hundred images (default: the
            `KERAS_TRANSFER_DEMO_SMOKE` environment variable).
        output_dir: where the source weights (`demo_source/`, `demo_source_smoke/`),
            the export (`demo/`) and `demo_results.json` go.
        export: export the first seed's fine-tuned model and reload it in a fresh process.
        retrain_source: pretrain the source backbone even if saved weights match.
        data_dir: a folder holding Fashion-MNIST's four idx files (see `load_fashion_mnist`).
        settings: every other number (`DemoSettings`); `labels_per_class` and
            `image_size` override its fields.
        verbose: 1 prints progress and the table.

    Returns:
        A `DemoResult`; `print(result.table())` shows it.

    Example:
        >>> result = run_demo(seeds=(0, 1, 2))
        >>> print(result.table())
    """
    started = time.perf_counter()
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=(0,).")
    smoke, settings = resolve_settings(smoke, labels_per_class=labels_per_class, image_size=image_size,
                                       settings=settings)
    output = Path(output_dir)

    (x_train, y_train), (x_test, y_test), names = load_fashion_mnist(data_dir)
    source_names = [names[i] for i in SOURCE_CLASS_IDS]
    target_names = [names[i] for i in TARGET_CLASS_IDS]
    source_train = _subsample(*select_classes(x_train, y_train, SOURCE_CLASS_IDS), settings.source_images, seed=0)
    source_test = _subsample(*select_classes(x_test, y_test, SOURCE_CLASS_IDS), settings.test_images, seed=0)
    target_train = select_classes(x_train, y_train, TARGET_CLASS_IDS)
    target_test = _subsample(*select_classes(x_test, y_test, TARGET_CLASS_IDS), settings.test_images, seed=0)

    source = pretrain_source(source_train, source_test, source_names, settings,
                             output / (SOURCE_DIRNAME + ("_smoke" if smoke else "")),
                             retrain=retrain_source, verbose=verbose)
    results, first_fit = [], None
    for seed in seeds:
        result, fit = run_seed(seed, target_train, target_test, target_names, source, settings, verbose=verbose)
        results.append(result)
        if first_fit is None:
            first_fit = fit

    check, note = None, ""
    if not export:
        note = "export=False"
    else:
        try:
            import keras_transfer.serving.export  # noqa: F401
        except ImportError as error:
            note = f"keras_transfer.exporter is not available ({error})"
        else:
            count = min(settings.export_check_images, len(target_test[1]))
            per_class = max(1, -(-count // len(target_names)))  # ceil
            picks = sample_per_class(target_test[1], per_class, seed=seeds[0])[:count]
            check = export_and_reload(first_fit, target_test[0][picks], target_test[1][picks], target_names,
                                      output / EXPORT_DIRNAME, report_data=target_test)

    demo = DemoResult(settings=settings, source_classes=source_names, target_classes=target_names, source=source,
                      seeds=results, export=check, export_note=note, smoke=smoke,
                      seconds=time.perf_counter() - started, output_dir=output, test_images=int(len(target_test[1])))
    output.mkdir(parents=True, exist_ok=True)
    results_name = RESULTS_FILENAME.replace(".json", "_smoke.json") if smoke else RESULTS_FILENAME
    (output / results_name).write_text(json.dumps(demo.to_dict(), indent=2))
    if verbose:
        print()
        print(demo.table())
    return demo


def parse_seeds(text: str) -> list[int]:
    """`"3"` → seeds 0, 1, 2; `"0,4,7"` → those seeds.

    Args:
        text: a count, or a comma-separated list of seeds.

    Returns:
        The seeds.

    Raises:
        argparse.ArgumentTypeError: anything else.

    Example:
        >>> parse_seeds("3"), parse_seeds("5,6")
        ([0, 1, 2], [5, 6])
    """
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",") if part.strip()]
        else:
            seeds = list(range(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes a count (3) or a list (0,1,2), got {text!r}.") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"--seeds needs at least one seed, none negative; got {text!r}.")
    return seeds


DESCRIPTION = ("Fashion-MNIST transfer learning: a backbone pretrained on 5 classes, transferred to the other 5 "
               "with a few labels, against the same network trained from scratch and a linear probe.")


def add_demo_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the demo's command-line options (they mirror `run_demo`) to a parser.

    `keras-transfer demo` and `python -m keras_transfer.demo` both take these;
    `demo_arguments` turns the parsed options into `run_demo`'s arguments.

    Args:
        parser: the parser (or subcommand parser) to add them to.

    Returns:
        The same parser.

    Example:
        >>> add_demo_arguments(argparse.ArgumentParser()).parse_args(["--seeds", "3"]).seeds
        [0, 1, 2]
    """
    parser.add_argument("--seeds", type=parse_seeds, default=[0], metavar="N|LIST",
                        help="how many seeds (3 → 0,1,2) or which (0,4,7); default: 1 seed")
    parser.add_argument("--labels-per-class", type=int, default=None, metavar="N",
                        help="labelled target images per class (default 10; 4 with --smoke)")
    parser.add_argument("--image-size", type=int, default=None, metavar="PX", help="input side (default 32)")
    parser.add_argument("--smoke", action="store_true", default=None,
                        help=f"a seconds-long run on a few hundred images (also {SMOKE_ENV}=1)")
    parser.add_argument("--output-dir", "--out", default=DEFAULT_OUTPUT_DIR, metavar="DIR",
                        help="where source weights, the export and demo_results.json go (default: saved_models)")
    parser.add_argument("--no-export", action="store_true", help="skip exporting and reloading the model")
    parser.add_argument("--retrain-source", action="store_true", help="pretrain the source backbone again")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="a folder with Fashion-MNIST's idx files")
    parser.add_argument("--quiet", action="store_true", help="print only the table")
    return parser


def demo_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """`run_demo`'s keyword arguments from options parsed with `add_demo_arguments`.

    Args:
        args: the parsed namespace.

    Returns:
        The keyword arguments; `--quiet` becomes `verbose=0` (print the table yourself then).

    Example:
        >>> parser = add_demo_arguments(argparse.ArgumentParser())
        >>> demo_arguments(parser.parse_args(["--seeds", "2", "--no-export"]))["export"]
        False
    """
    return dict(
        seeds=args.seeds, labels_per_class=args.labels_per_class, image_size=args.image_size, smoke=args.smoke,
        output_dir=args.output_dir, export=not args.no_export, retrain_source=args.retrain_source,
        data_dir=args.data_dir, verbose=0 if args.quiet else 1,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m keras_transfer.demo`: runs the demo and prints its table (`keras-transfer demo` does the same).

    Args:
        argv: the arguments (default: `sys.argv[1:]`).

    Returns:
        0 on success.

    Example:
        >>> main(["--seeds", "3"])
        0
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="python -m keras_transfer.demo", description=DESCRIPTION)
    args = add_demo_arguments(parser).parse_args(argv)
    result = run_demo(**demo_arguments(args))
    if args.quiet:
        print(result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
