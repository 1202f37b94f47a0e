"""Parameter-efficient fine-tuning against head-only and full staged fine-tuning, on a real pretrained backbone.

Backbone: Google's ImageNet MobileNet V1 (PyPI nudity, offline). Target: Fashion-MNIST with few labels per class.
Methods: the head alone on frozen features; full staged fine-tuning (the default plan: head, top third, all);
LoRA at two ranks on every Conv2D (the stem and the pointwise convolutions: Keras' `enable_lora`); norm-only
(BatchNorm scales and offsets, statistics frozen); BitFit, which MobileNet cannot run (its convolutions have no
bias: the product refuses it before training, and says why), so BitFit runs on VGG16-HED (ImageNet-descended,
conv biases, 32 px) beside its own head-only run. Each method runs in a fresh process, its seeds in turn, so the
peak memory (max RSS after each seed) is the method's own. Printed: method | trainable parameters | test
accuracy (mean +- half-range over seeds) | seconds per epoch | peak memory | artifact size (the model file; the
adapter file for PEFT; weights only, no optimizer state), and the goal lines.

Usage:
    python benchmarks/peft.py            # 3 seeds, 8 methods: 20 minutes measured on 2 loaded CPU cores
    python benchmarks/peft.py --smoke    # seconds: the tiny test backbone, one seed, one epoch, two methods
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested

# name -> (backbone, build_and_fit options). "head_only" and "full" are the plain alternatives.
METHODS = {
    "head_only": ("mobilenet", {"stages": [{"name": "head", "learning_rate": 1e-3, "train_blocks": 0}]}),
    "full_staged": ("mobilenet", {}),
    "lora_r4": ("mobilenet", {"peft": "lora", "lora_rank": 4}),
    "lora_r16": ("mobilenet", {"peft": "lora", "lora_rank": 16}),
    "norm_only": ("mobilenet", {"peft": "norm"}),
    "bitfit": ("mobilenet", {"peft": "bias"}),
    # VGG16 costs ~25x MobileNet's FLOPs per image: at 32 px, the head alone and BitFit (its convs have biases).
    "vgg_head_only": ("vgg16", {"stages": [{"name": "head", "learning_rate": 1e-3, "train_blocks": 0}],
                                "image_size": 32}),
    "vgg_bitfit": ("vgg16", {"peft": "bias", "image_size": 32}),
}
MOBILENET_PEFT = ("lora_r4", "lora_r16", "norm_only", "bitfit")


def target(per_class: int, test_images: int, seed: int):
    """Fashion-MNIST as RGB uint8: `per_class` labelled images per class (drawn by seed), a fixed test draw."""
    import numpy as np

    from keras_transfer.datasets import load_fashion_mnist

    (x, y), (x_test, y_test), names = load_fashion_mnist()
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)])
    held = np.random.default_rng(1234).choice(len(y_test), test_images, replace=False)

    def rgb(images):
        return np.repeat(images[..., None], 3, axis=-1)

    return (rgb(x[chosen]), y[chosen]), (rgb(x_test[held]), y_test[held]), list(names)


def weights_for(backbone: str) -> str:
    from keras_transfer.models.pretrained import mobilenet_v1_imagenet_weights, vgg16_hed_weights

    return str(mobilenet_v1_imagenet_weights() if backbone == "mobilenet" else vgg16_hed_weights())


def options_for(method: str, epochs: int) -> tuple[str, dict]:
    """The backbone and build_and_fit options of a method (LoRA's rank as an explicit plan)."""
    from keras_transfer.train.stages import peft_stages

    backbone, options = METHODS[method]
    options = dict(options)
    rank = options.pop("lora_rank", None)
    if rank is not None:
        options["stages"] = [stage.to_dict() for stage in peft_stages("lora", epochs, lora_rank=rank)]
    if "stages" in options and "peft" not in options:
        options["stages"] = [{**stage, "epochs": epochs} for stage in options["stages"]]
    return backbone, options


def run_one(method: str, seed: int, size: int, per_class: int, test_images: int, epochs: int,
            tiny: bool = False) -> dict:
    """One build_and_fit run: its test accuracy, trainable parameters, seconds per epoch and artifact size.

    `tiny` (smoke mode) swaps the backbone for the seconds-fast test backbone.
    """
    import numpy as np

    import keras_transfer
    from keras_transfer.data.pipeline import make_dataset
    from keras_transfer.data.sources import from_arrays
    from keras_transfer.testing.tiny import tiny_backbone

    train, test, names = target(per_class, test_images, seed)
    backbone, options = options_for(method, epochs)
    size = options.pop("image_size", size)
    weights = "given" if tiny else weights_for(backbone)
    backbone = tiny_backbone(size) if tiny else backbone
    started = time.perf_counter()
    try:
        result = keras_transfer.build_and_fit(train, backbone=backbone, weights=weights,
                                              image_size=size, epochs=epochs, class_names=names, seed=seed,
                                              verbose=0, **options)
    except ValueError as error:  # BitFit on MobileNet: no conv biases, and the product says so
        return {"method": method, "seed": seed, "refused": str(error)}
    seconds = time.perf_counter() - started
    predictions = result.model.predict(make_dataset(from_arrays(*test, class_names=names), (size, size), 64),
                                       verbose=0)
    last = result.history[-1]
    folder = Path(tempfile.mkdtemp(prefix="peft-bench-"))
    result.model.save_weights(folder / "model.weights.h5")  # the weights alone: no optimizer state
    model_bytes = (folder / "model.weights.h5").stat().st_size
    adapter_bytes = None
    if result.method_record.get("adapter") is not None:
        adapter_bytes = result.save_adapter(folder / "adapter.npz").stat().st_size
    return {"method": method, "seed": seed, "accuracy": float(np.mean(predictions.argmax(axis=1) == test[1])),
            "trainable_params": int(max(stage["trainable_params"] for stage in result.history)),
            "seconds_per_epoch": float(last.get("wall_seconds", 0.0)) / max(int(last["epochs_run"]), 1),
            "last_stage": last["name"], "kept_stage": result.kept_stage, "kept": result.kept,
            "model_bytes": model_bytes, "adapter_bytes": adapter_bytes, "wall_seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "warnings": [w for w in result.warnings if "parameter-efficient" in w]}


def run_in_process(method: str, args) -> list[dict]:
    """Every seed of one method in a fresh Python process (the method's own peak memory), as JSON lines."""
    command = [sys.executable, __file__, "--one", method, "--seeds", str(args.seeds), "--image-size",
               str(args.image_size), "--per-class", str(args.per_class), "--test-images", str(args.test_images),
               "--epochs", str(args.epochs), "--first-seed", str(args.first_seed)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    records = [json.loads(line[len("RECORD "):]) for line in done.stdout.splitlines() if line.startswith("RECORD ")]
    if done.returncode != 0 or not records:
        raise RuntimeError(f"{method} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return records


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    half = (max(values) - min(values)) / 2
    return f"{mean:.3f} +- {half:.3f}" if len(values) > 1 else f"{mean:.3f}"


def table(records: list[dict]) -> dict[str, dict]:
    """Prints the markdown table; returns per-method means."""
    by_method: dict[str, list[dict]] = {}
    for record in records:
        by_method.setdefault(record["method"], []).append(record)
    print("\n| method | trainable parameters | test accuracy (mean +- half-range) | seconds per epoch | peak memory "
          "(MB) | artifact (KB) | kept stage |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for method, runs in by_method.items():
        if "refused" in runs[0]:
            print(f"| {method} | — | refused: {runs[0]['refused'][:150]}... | — | — | — | — |")
            continue
        artifact = [run["adapter_bytes"] or run["model_bytes"] for run in runs]
        kept = ", ".join(sorted({run["kept_stage"] or run["kept"] for run in runs}))
        summary[method] = {"accuracy": statistics.fmean(run["accuracy"] for run in runs),
                           "trainable_params": runs[0]["trainable_params"],
                           "artifact": statistics.fmean(artifact), "model_bytes": runs[0]["model_bytes"]}
        print(f"| {method} | {runs[0]['trainable_params']:,} | {spread([run['accuracy'] for run in runs])} | "
              f"{statistics.fmean(run['seconds_per_epoch'] for run in runs):.2f} | "
              f"{statistics.fmean(run['peak_rss_mb'] for run in runs):.0f} | "
              f"{statistics.fmean(artifact) / 1024:.0f}{' (adapter)' if runs[0]['adapter_bytes'] else ''} | "
              f"{kept} |", flush=True)
    return summary


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64, help="input side (default 64)")
    parser.add_argument("--per-class", type=int, default=20, help="labelled images per class (default 20)")
    parser.add_argument("--test-images", type=int, default=1000, help="test images (default 1000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per stage (default 3)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0): seeds are "
                        "FIRST .. FIRST + SEEDS - 1, so a run can add seeds to an earlier one")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods to run")
    parser.add_argument("--one", help=argparse_hidden())
    args = parser.parse_args()
    quiet_tensorflow()
    if args.one:  # one method, every seed, in this process; the peak memory is the process's after each seed
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            record = run_one(args.one, seed, args.image_size, args.per_class, args.test_images, args.epochs)
            print("RECORD " + json.dumps(record), flush=True)
            if "refused" in record:  # the refusal does not depend on the seed
                break
        return 0
    smoke = smoke_requested(args.smoke)
    started = time.perf_counter()
    if smoke:
        records = [run_one(method, 0, 32, 3, 60, 1, tiny=True) for method in ("head_only", "lora_r4")]
    else:
        records = []
        for method in args.methods.split(","):
            for record in run_in_process(method, args):
                records.append(record)
                print(f"  {method} seed {record['seed']}: " + json.dumps({k: v for k, v in record.items()
                                                                           if k != "warnings"}), flush=True)
    print(f"\nMobileNet V1 ImageNet / VGG16-HED on Fashion-MNIST, {3 if smoke else args.per_class} labels per class "
          f"(80% train, 20% validation), {32 if smoke else args.image_size} px, "
          f"{1 if smoke else args.seeds} seed(s); wall {time.perf_counter() - started:.0f} s")
    summary = table(records)
    for record in records:
        for warning in record.get("warnings", []):
            print(f"  warning ({record['method']} seed {record['seed']}): {warning}")
    full = summary.get("full_staged") or summary.get("head_only")
    peft = {name: value for name, value in summary.items() if name in MOBILENET_PEFT}
    if full and peft:
        best_name, best = max(peft.items(), key=lambda item: item[1]["accuracy"])
        print_ratio(f"peft_best_{best_name}_accuracy_points_vs_full_staged",
                    100 * (best["accuracy"] - full["accuracy"]), ">= -1", best["accuracy"] >= full["accuracy"] - 0.01)
        print_paired_gaps(records, "full_staged" if summary.get("full_staged") else "head_only", peft)
        share = best["trainable_params"] / full["trainable_params"]
        print_ratio(f"peft_best_{best_name}_trainable_params_share_of_full", share, "<= 0.05", share <= 0.05)
        adapter_share = best["artifact"] / best["model_bytes"]
        print_ratio(f"peft_best_{best_name}_adapter_share_of_model_file", adapter_share, "<= 0.05",
                    adapter_share <= 0.05)
    return 0


def print_paired_gaps(records: list[dict], reference: str, methods) -> None:
    """Each method's accuracy minus the reference's on the same seed (same labelled images): mean, standard
    error and the per-seed values, in points. Seeds differ far more than methods here, so this is the figure to
    read."""
    accuracy = {(record["method"], record["seed"]): record["accuracy"] for record in records if "accuracy" in record}
    for method in methods:
        gaps = [100 * (accuracy[(method, seed)] - value) for (name, seed), value in sorted(accuracy.items())
                if name == reference and (method, seed) in accuracy]
        if len(gaps) > 1:
            error = statistics.stdev(gaps) / len(gaps) ** 0.5
            print(f"paired gap {method} - {reference}: {statistics.fmean(gaps):+.1f} +- {error:.1f} points "
                  f"(standard error, {len(gaps)} seeds: " + ", ".join(f"{gap:+.1f}" for gap in gaps) + ")")


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    raise SystemExit(main())
