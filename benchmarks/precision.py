"""Mixed precision against float32: `build_and_fit`'s validation accuracy and wall time under each policy.

Issue 7, item 3: mixed precision must cost no accuracy against float32 on the
benchmark task. The same run as `end_to_end.py`'s `build_and_fit` (VGG16 with
real pretrained weights, a Fashion-MNIST subset at 32 px, same split and seed)
is trained once per policy:

- `float32` (`mixed_precision=False`);
- `mixed_bfloat16`, the policy TPUs get; this CPU runs bfloat16 too (oneDNN),
  so it is measured here;
- on a GPU also `mixed_float16` (the GPU default) with and without XLA.

Head and loss stay float32 under every policy (`build_model`). The goal line
compares each mixed policy's final validation accuracy with float32's: no loss
beyond 1 point (500 validation images: one image is 0.2 points).

Usage:
    python benchmarks/precision.py            # about 10 minutes on 2 CPU cores
    python benchmarks/precision.py --smoke    # seconds: checks the script works
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
import tensorflow as tf  # noqa: E402
from transfer_data import load_split, parse_split_args, split_parser, vgg16_weights  # noqa: E402

from keras_transfer import build_and_fit  # noqa: E402

# model.fit's default shuffle=True does not apply to a tf.data input; Keras says so every fit.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")


def policies(gpu: bool) -> dict[str, dict]:
    """name → the `build_and_fit` options of that run."""
    runs = {"float32": {"mixed_precision": False}, "mixed_bfloat16": {"mixed_precision": "mixed_bfloat16"}}
    if gpu:
        runs["mixed_float16"] = {"mixed_precision": "mixed_float16"}
        runs["mixed_float16_xla"] = {"mixed_precision": "mixed_float16", "jit_compile": True}
    return runs


def main(argv=None) -> int:
    args = parse_split_args(split_parser(__doc__.splitlines()[0], epochs=3), argv, epochs=1, train=24, val=12)
    split = load_split(args.train, args.val, args.size, args.data, args.seed)
    weights = vgg16_weights()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    print(f"precision: build_and_fit, VGG16 (real pretrained weights) on {split.describe()}, batch {args.batch}, "
          f"{args.epochs} epochs per stage; {common.machine_line()}; GPU: {gpu}")
    results = {}
    for name, options in policies(gpu).items():
        keras.backend.clear_session()
        started = time.perf_counter()
        result = build_and_fit((split.x_train, split.y_train), backbone="vgg16", weights=weights,
                               image_size=args.size, validation_data=(split.x_val, split.y_val),
                               class_names=split.class_names, batch_size=args.batch, seed=args.seed,
                               epochs=args.epochs, scan=False, verbose=0, **options)
        seconds = time.perf_counter() - started
        results[name] = (float(result.metrics["accuracy"]), seconds)
        print(f"{name:<18} final val accuracy {results[name][0]:.4f}, {seconds:.0f} s "
              f"(policy of the backbone: {result.model.get_layer('backbone').dtype_policy.name}, "
              f"output layer: {result.model.get_layer('predictions').dtype_policy.name})", flush=True)
    reference, reference_seconds = results["float32"]
    for name, (accuracy, seconds) in results.items():
        if name == "float32":
            continue
        points = 100 * (accuracy - reference)
        common.print_ratio(f"{name}_val_accuracy_points_vs_float32", points, ">= -1", points >= -1)
        common.print_ratio(f"{name}_wall_time_vs_float32", seconds / reference_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
