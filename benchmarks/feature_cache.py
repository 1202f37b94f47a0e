"""Cached backbone features: a head-only stage on features computed once against plain `model.fit` through the backbone.

Both runs are `build_and_fit` with one head-only stage of `--epochs` epochs
(patience off, so both run every epoch) on VGG16 with real pretrained weights
and the same data, seed and batch size; one with `feature_cache=True` (the
default), one with `feature_cache=False` (model.fit through the frozen
backbone every epoch). Wall time is the whole `build_and_fit` call, feature
extraction included. Two settings:

- `same_start`: no augmentation and `head_init=None`, so both heads start from
  the same random weights and see the same pixels: only the cache differs
  (the goals are judged here);
- `defaults`: the default augmentation and `head_init="linear_probe"`, what a
  user gets: the cached stage trains on clean features, its output layer
  warm-started at the logistic regression of the features; the plain stage
  augments every epoch and starts at random.

Usage:
    python benchmarks/feature_cache.py                       # a few minutes on 2 cores
    python benchmarks/feature_cache.py --mode cached         # one run (same_start), for whole-process timing
    python benchmarks/feature_cache.py --smoke
"""

from __future__ import annotations

import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.quiet_tensorflow()

import keras  # noqa: E402
from transfer_data import Split, load_split, parse_split_args, split_parser, vgg16_weights  # noqa: E402

from keras_transfer import Stage, build_and_fit  # noqa: E402

warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
# build_and_fit arguments of each setting (see the module docstring).
SETTINGS = {
    "same_start": {"augmentation": None, "head_init": None},
    "defaults": {},
}


def head_stage_run(split: Split, weights: str, epochs: int, batch: int, seed: int, cached: bool,
                   setting: dict) -> tuple[float, float]:
    """One head-only `build_and_fit`; returns (wall seconds of the call, validation accuracy)."""
    keras.backend.clear_session()
    started = time.perf_counter()
    result = build_and_fit((split.x_train, split.y_train), backbone="vgg16", weights=weights,
                           image_size=split.x_train.shape[1], validation_data=(split.x_val, split.y_val),
                           class_names=split.class_names, batch_size=batch, seed=seed, scan=False,
                           stages=[Stage("head", epochs=epochs, learning_rate=1e-3, train_blocks=0, patience=None)],
                           feature_cache=cached, verbose=0, **setting)
    return time.perf_counter() - started, float(result.metrics["accuracy"])


def compare(split: Split, weights: str, epochs: int, batch: int, seed: int, label: str) -> None:
    """Runs plain then cached in one setting, prints both and the two ratios."""
    plain_seconds, plain_accuracy = head_stage_run(split, weights, epochs, batch, seed, False, SETTINGS[label])
    cached_seconds, cached_accuracy = head_stage_run(split, weights, epochs, batch, seed, True, SETTINGS[label])
    print(f"[{label}] plain model.fit through the frozen backbone: {plain_seconds:.1f} s, val accuracy "
          f"{plain_accuracy:.4f}")
    print(f"[{label}] cached features: {cached_seconds:.1f} s, val accuracy {cached_accuracy:.4f}")
    speedup = plain_seconds / cached_seconds
    common.print_ratio(f"feature_cache_speedup_{label}", speedup, ">= 5", speedup >= 5)
    points = 100 * (cached_accuracy - plain_accuracy)
    if label == "same_start":
        common.print_ratio(f"feature_cache_accuracy_points_{label}", points, "|d| <= 1", abs(points) <= 1.0)
    else:  # the two runs differ on purpose (augmentation, warm start): a figure, not a goal
        common.print_ratio(f"feature_cache_accuracy_points_{label}", points)


def main(argv=None) -> int:
    parser = split_parser(__doc__.splitlines()[0], epochs=10, epochs_help="epochs of the head-only stage")
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=["same_start", "defaults"])
    parser.add_argument("--mode", choices=("compare", "cached", "plain"), default="compare",
                        help="compare (default), or one run of the first setting, for whole-process timing")
    args = parse_split_args(parser, argv, epochs=2, settings=["same_start"])
    split = load_split(args.train, args.val, args.size, args.data, args.seed)
    weights = vgg16_weights()
    print(f"feature cache: VGG16 (real pretrained weights) on {split.describe()}, head-only stage of "
          f"{args.epochs} epochs, batch {args.batch}; {common.machine_line()}")
    if args.mode != "compare":
        label = args.settings[0]
        seconds, accuracy = head_stage_run(split, weights, args.epochs, args.batch, args.seed, args.mode == "cached",
                                           SETTINGS[label])
        print(f"RESULT mode={args.mode} {label} seconds={seconds:.1f} val_accuracy={accuracy:.4f}")
        return 0
    for label in args.settings:
        compare(split, weights, args.epochs, args.batch, args.seed, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
