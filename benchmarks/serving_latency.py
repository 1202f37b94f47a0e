"""Serving latency: the SavedModel's `serving_default` on JPEG bytes against the in-memory Keras model on pixels.

A `build_model` classifier (default: the library's default backbone,
EfficientNetV2B0 at 224 px; random weights, which do not change latency) is
exported with `keras_transfer.export`, reloaded with `tf.saved_model.load`,
and called at batch 1 and 32 on 500×375 photo-like JPEGs:

- `serving_default(images=<JPEG bytes>)`: decode + resize + model in the graph;
- `serving_pixels(pixels=<224×224 float32>)`: the same graph without decoding;
- the Keras model on the same pixels: `model.predict_on_batch` and `model(x, training=False)`.

Each call is repeated (`--calls`) after warm-up calls; the median latency is
printed, and the ratios serving_default / Keras `predict_on_batch`.

Usage:
    python benchmarks/serving_latency.py
    python benchmarks/serving_latency.py --backbone mobilenetv2
    python benchmarks/serving_latency.py --smoke
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.quiet_tensorflow()

import tensorflow as tf  # noqa: E402

from keras_transfer import build_model, export  # noqa: E402
from keras_transfer.data.images import decode_image  # noqa: E402


def latency_ms(call, calls: int, warmup: int = 3) -> float:
    """Median milliseconds of `call()` over `calls` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append(1000.0 * (time.perf_counter() - started))
    return statistics.median(times)


def jpeg_batch(folder: Path, count: int) -> list[bytes]:
    """The bytes of the first `count` JPEGs of the folder."""
    return [path.read_bytes() for path in sorted(folder.rglob("*.jpg"))[:count]]


def measure_batch(encoded: list[bytes], size: tuple[int, int], serve_images, serve_pixels, model,
                  calls: int) -> dict[str, float]:
    """Median latencies (ms) of the four ways of classifying one batch of JPEGs."""
    images = tf.constant(encoded)
    pixels = tf.stack([decode_image(tf.constant(data), size) for data in encoded])
    pixels_np = pixels.numpy()
    return {
        "default": latency_ms(lambda: serve_images(images=images)["probabilities"].numpy(), calls),
        "pixels": latency_ms(lambda: serve_pixels(pixels=pixels)["probabilities"].numpy(), calls),
        "predict": latency_ms(lambda: model.predict_on_batch(pixels_np), calls),
        "call": latency_ms(lambda: model(pixels, training=False).numpy(), calls),
    }


def main(argv=None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnetv2b0")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--calls", type=int, default=20, help="timed calls per figure")
    args = parser.parse_args(argv)
    if common.smoke_requested(args.smoke):
        args.backbone, args.size, args.batches, args.calls = "mobilenetv2", 32, [1, 4], 3
    size = (args.size, args.size)
    folder = common.jpeg_folder(max(args.batches), 500, 375, seed=1)
    model = build_model(args.backbone, num_classes=5, weights=None, image_size=size)
    with tempfile.TemporaryDirectory(prefix="keras_transfer_bench_serving_") as workdir:
        started = time.perf_counter()
        exported = export(model, Path(workdir) / "export", class_names=[f"class_{i}" for i in range(5)])
        export_seconds = time.perf_counter() - started
        loaded = tf.saved_model.load(str(exported.saved_model))
        serve_images = loaded.signatures["serving_default"]
        serve_pixels = loaded.signatures["serving_pixels"]
        print(f"serving latency: {args.backbone} at {args.size} px, 500x375 JPEGs, median of {args.calls} calls "
              f"(export took {export_seconds:.1f} s); {common.machine_line()}")
        print(f"{'batch':>5} {'serving_default JPEG':>21} {'serving_pixels':>15} {'Keras predict_on_batch':>23} "
              f"{'Keras model(x)':>15}   (ms)")
        for batch in args.batches:
            figures = measure_batch(jpeg_batch(folder, batch), size, serve_images, serve_pixels, model, args.calls)
            print(f"{batch:>5} {figures['default']:>21.1f} {figures['pixels']:>15.1f} {figures['predict']:>23.1f} "
                  f"{figures['call']:>15.1f}", flush=True)
            common.print_ratio(f"serving_default_jpeg_vs_keras_pixels_batch{batch}",
                               figures["default"] / figures["predict"])
            common.print_ratio(f"serving_pixels_vs_keras_pixels_batch{batch}", figures["pixels"] / figures["predict"])
            decode_share = 1 - figures["pixels"] / figures["default"]
            print(f"      decoding {batch} JPEG(s) in the graph is {100 * max(decode_share, 0):.0f}% of "
                  f"serving_default's latency; {1000 * batch / figures['default']:.0f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
