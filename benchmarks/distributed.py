"""Multi-worker training on one machine: images/s with 1 vs 2 worker processes, and the feature cache's speed-up
under MultiWorkerMirroredStrategy.

Each run is `supervise(...)` (the launcher `keras-transfer fit --workers N` uses) starting N worker processes
on 127.0.0.1 with TF_CONFIG; each worker runs `build_and_fit(strategy=MultiWorkerMirroredStrategy)` on the
same synthetic shapes set with a tiny CNN and reports the wall seconds of the method's `fit` step
(`FitResult.timings["fit"]`, plus `"features"` when the cache is on). Both workers share this machine's
cores: two workers cannot be faster than one here; the figure shows the cost of the collectives, not the
scaling a cluster of separate machines would show.

- throughput: one stage training every block (no cache), `--epochs` epochs: training images x epochs / fit s;
- cache: one head-only stage, `feature_cache=True` against `False`, two workers each.

Usage:
    nice -n 5 python benchmarks/distributed.py            # a few minutes on 2 cores
    python benchmarks/distributed.py --smoke               # in-process (a one-device strategy), seconds
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.quiet_tensorflow()

WORKER = textwrap.dedent("""
    import json, sys
    from keras_transfer.distributed import resolve_strategy
    strategy = resolve_strategy(distribute="multi_worker", collective_timeout=120)
    sys.path.insert(0, sys.argv[2])  # benchmarks/
    from distributed import run
    print("RESULT", json.dumps(run(strategy, **json.loads(sys.argv[1]))), flush=True)
""")


def run(strategy, mode: str, epochs: int, per_class: int, size: int, batch: int, cache: bool = True) -> dict:
    """One training run; returns images/s of the fit step and the seconds of each step."""
    from keras_transfer import build_and_fit
    from keras_transfer.testing.synthetic import make_shapes_arrays
    from keras_transfer.testing.tiny import tiny_backbone

    x, y, _ = make_shapes_arrays(3, per_class, size)
    if mode == "throughput":
        stages = [{"name": "all", "epochs": epochs, "learning_rate": 1e-3, "train_blocks": "all", "patience": None}]
    else:
        stages = [{"name": "head", "epochs": epochs, "learning_rate": 1e-2, "patience": None}]
    result = build_and_fit((x, y), backbone=tiny_backbone(size, (16, 32)), weights="given", image_size=size,
                           stages=stages, batch_size=batch, strategy=strategy, augmentation=None, verbose=0,
                           validation_split=0.2, feature_cache=cache, head_init=None)
    fit = result.timings["fit"] + result.timings.get("features", 0.0)
    trained = len(result.train_spec) * epochs
    return {"images_per_s": trained / result.timings["fit"], "seconds": fit, "accuracy": result.metrics["accuracy"]}


def cluster_run(workers: int, options: dict, folder: Path) -> dict:
    """`options` on a local cluster of `workers` processes; the chief's result."""
    from keras_transfer.distributed.launch import supervise

    script = folder / "benchmark_worker.py"
    script.write_text(WORKER)
    here = os.path.dirname(os.path.abspath(__file__))
    outcome = supervise(lambda index, attempt: [sys.executable, str(script), json.dumps(options), here], workers,
                        folder / f"logs-{workers}-{options['mode']}-{options.get('cache', True)}", restarts=0,
                        timeout_s=1200)
    text = outcome.logs[-1][0].read_text(errors="replace")
    if not outcome.succeeded or "RESULT" not in text:
        raise RuntimeError(f"the {workers}-worker run failed: {outcome.failures}\n{text[-2000:]}")
    return json.loads(text.split("RESULT", 1)[1].splitlines()[0])


def main(argv=None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)
    print(common.machine_line())
    base = {"epochs": args.epochs, "per_class": args.per_class, "size": args.size, "batch": args.batch}
    if common.smoke_requested(args.smoke):  # in-process, a one-device strategy: checks the code paths only
        import tensorflow as tf

        base = {"epochs": 1, "per_class": 6, "size": 32, "batch": 6}
        strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
        cached = run(strategy, "cache", cache=True, **base)
        plain = one = two = run(strategy, "cache", cache=False, **base)
        label = "smoke: in-process, a one-device strategy, two runs (the worker rows repeat the uncached one)"
    else:
        with tempfile.TemporaryDirectory(prefix="keras_transfer_bench_") as folder:
            one = cluster_run(1, {"mode": "throughput", **base}, Path(folder))
            two = cluster_run(2, {"mode": "throughput", **base}, Path(folder))
            cached = cluster_run(2, {"mode": "cache", "cache": True, **base}, Path(folder))
            plain = cluster_run(2, {"mode": "cache", "cache": False, **base}, Path(folder))
        label = "1 vs 2 worker processes on this machine (they share its cores)"
    print("| setting | images/s (fit step) | fit s | val accuracy |\n|---|---|---|---|")
    for name, row in (("1 worker", one), ("2 workers", two), ("2 workers, head, feature cache", cached),
                      ("2 workers, head, no cache", plain)):
        print(f"| {name} | {row['images_per_s']:.0f} | {row['seconds']:.1f} | {row['accuracy']:.3f} |")
    print(label)
    common.print_ratio("distributed_two_vs_one_worker_images_per_s", two["images_per_s"] / one["images_per_s"])
    common.print_ratio("distributed_feature_cache_speedup_under_strategy", plain["seconds"] / cached["seconds"],
                       goal=">= 1", met=plain["seconds"] >= cached["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
