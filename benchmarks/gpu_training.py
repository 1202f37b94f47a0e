"""GPU training throughput: float32 against mixed precision + XLA, and the share of the GPU's peak.

For EfficientNetB0 and ResNet50 at 224 px (all layers training, random
weights: speed does not depend on their values), `build_model` is built under
a Keras dtype policy and compiled with AdamW, once in float32 without XLA and
once under `mixed_float16` with `jit_compile=True`. Input is one uint8 batch
repeated (so the input pipeline is out of the figure); after a warm-up epoch
(tracing, XLA compilation) a timed epoch of `--steps` steps gives images/s.
Training FLOPs per image are taken as 3× the forward pass (counted by
TensorFlow's profiler); the share of peak divides the achieved FLOP/s by the
device's dense peak (tensor cores: TF32 for float32, which TensorFlow uses by
default on Ampere and later, FP16 for mixed precision).

Without a GPU the script says so and exits 0.

Usage:
    python benchmarks/gpu_training.py
    python benchmarks/gpu_training.py --batch 128 --steps 50 --peak-tflops 989
    python benchmarks/gpu_training.py --smoke
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
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_transfer import build_model  # noqa: E402

# Dense peak TFLOP/s by device-name fragment: (FP32 without tensor cores, TF32 tensor, FP16/BF16 tensor).
# First match wins, so the more specific names come first. Vendor data sheets, dense (no sparsity).
PEAK_TFLOPS = (
    ("H200", (67.0, 494.7, 989.4)),
    ("H100 PCIe", (51.2, 378.0, 756.0)),
    ("H100", (67.0, 494.7, 989.4)),
    ("A100", (19.5, 156.0, 312.0)),
    ("L40S", (91.6, 183.0, 362.0)),
    ("L4", (30.3, 60.0, 121.0)),
    ("A10", (31.2, 62.5, 125.0)),
    ("V100", (15.7, 15.7, 125.0)),
    ("T4", (8.1, 8.1, 65.0)),
)
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
MODES = {"float32": ("float32", False), "mixed_xla": ("mixed_float16", True)}


def gpu_name() -> str | None:
    """The first GPU's name, or None without a GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return details.get("device_name", gpus[0].name)


def peak_tflops(name: str) -> tuple[float, float, float] | None:
    """(FP32, TF32, FP16) dense peaks for a device name, or None when it is not in the table."""
    for fragment, peaks in PEAK_TFLOPS:
        if fragment.lower() in name.lower():
            return peaks
    return None


def forward_flops(model: keras.Model, size: int) -> float:
    """FLOPs of one image's forward pass, counted by TensorFlow's profiler on the frozen graph."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([1, size, size, 3], tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    info = tf.compat.v1.profiler.profile(graph=frozen.graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                         options=options)
    return float(info.total_float_ops)


def build(backbone: str, size: int, policy: str, jit: bool) -> keras.Model:
    """A compiled all-trainable `build_model` classifier under a dtype policy."""
    previous = keras.config.dtype_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_model(backbone, num_classes=10, weights=None, image_size=size)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy",
                  jit_compile=jit)
    return model


def images_per_second(model: keras.Model, size: int, batch: int, steps: int, warmup: int) -> float:
    """Training images/s over `steps` steps of one repeated uint8 batch, after `warmup` steps."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(batch,))
    data = tf.data.Dataset.from_tensors((images, labels)).repeat().prefetch(4)
    model.fit(data, steps_per_epoch=warmup, epochs=1, verbose=0)
    started = time.perf_counter()
    history = model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    float(history.history["loss"][-1])  # the steps have finished
    return steps * batch / (time.perf_counter() - started)


def run(backbones: list[str], size: int, batch: int, steps: int, warmup: int, peaks) -> None:
    """Measures every backbone in both modes and prints images/s, speed-up and share of peak."""
    print(f"{'backbone':<16} {'mode':<10} {'images/s':>9} {'GFLOP/img (train)':>18} {'TFLOP/s':>8} "
          f"{'share of peak':>14}")
    for backbone in backbones:
        train_flops = 3 * forward_flops(build(backbone, size, "float32", False), size)
        rates = {}
        for mode, (policy, jit) in MODES.items():
            keras.backend.clear_session()
            rates[mode] = images_per_second(build(backbone, size, policy, jit), size, batch, steps, warmup)
            achieved = rates[mode] * train_flops / 1e12
            share = "n/a"
            if peaks is not None:
                peak = peaks[1] if mode == "float32" else peaks[2]
                share = f"{100 * achieved / peak:.1f}%"
            print(f"{backbone:<16} {mode:<10} {rates[mode]:>9.0f} {train_flops / 1e9:>18.2f} {achieved:>8.1f} "
                  f"{share:>14}", flush=True)
        common.print_ratio(f"{backbone}_mixed_xla_vs_float32", rates["mixed_xla"] / rates["float32"])


def main(argv=None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["efficientnetb0", "resnet50"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per figure")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation)")
    parser.add_argument("--peak-tflops", type=float, nargs=3, metavar=("FP32", "TF32", "FP16"),
                        help="the device's dense peaks, when it is not in the table")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU anyway (checks the code)")
    args = parser.parse_args(argv)
    if common.smoke_requested(args.smoke):
        args.backbones, args.size, args.batch, args.steps, args.warmup = ["efficientnetb0"], 32, 4, 2, 1
    name = gpu_name()
    if name is None and not args.allow_cpu:
        print("SKIP gpu_training: no GPU visible to TensorFlow on this machine; run it on a GPU host "
              "(nothing measured, exit 0).")
        return 0
    name = name or "CPU (--allow-cpu)"
    peaks = tuple(args.peak_tflops) if args.peak_tflops else peak_tflops(name)
    print(f"gpu training: {name}, {args.size} px, batch {args.batch}, {args.steps} timed steps after "
          f"{args.warmup}; peaks (FP32, TF32, FP16 TFLOP/s): {peaks or 'unknown (pass --peak-tflops)'}")
    run(args.backbones, args.size, args.batch, args.steps, args.warmup, peaks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
