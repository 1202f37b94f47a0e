"""Input pipeline throughput: keras_transfer's tf.data pipeline against Keras 2's ImageDataGenerator and decoding.

On JPEGs this script writes (default 1,000 photo-like 500×375 files, output
224×224, batch 32), side by side in one run, interleaved round by round:

- `decode_only`: tf.data read → decode_jpeg → resize → batch → prefetch, no
  augmentation and no cache: the decode limit of the machine;
- `ours_default`: `make_dataset(..., training=True, augmentation=DEFAULT_AUGMENTATION)`;
- `ours_idg`: `make_dataset` with ImageDataGenerator-equivalent settings
  (rotation 20, zoom 0.2, horizontal flip);
- `kt_generator`: `keras_transfer.ImageDataGenerator(...).flow_from_directory` with the same settings;
- `keras2_idg`: Keras 2's `ImageDataGenerator` from `tf_keras` with the same settings
  (skipped with a note when `tf_keras` is not installed);
- `ours_fit_flow`: the order `build_and_fit` runs the default policy in: a clean pass in the data's order
  (the feature extraction, here without the model) decodes the images into the cache the training pipeline
  shares (`decoded_images`), then the augmented epochs read it; its "epoch 1" column is that clean pass and
  its "epoch 2" column the first augmented epoch;
- `tf_kernel_default`: `make_dataset` with the default policy computed by TensorFlow's
  `ImageProjectiveTransformV3` kernel, the implementation the library's XLA warp replaced
  (`benchmarks/tf_kernel.py`), to show what the warp gains in the same run.

Epoch 1 is cold (every image decoded); epoch 2 reads keras_transfer's uint8
cache. Each figure is the median over `--repeats` rounds; CPU ms per image
(all threads of the process) is printed beside it because it moves much less
than wall time on a shared machine. A per-stage CPU profile follows.

Usage:
    python benchmarks/input_pipeline.py                 # the full run (a few minutes on 2 cores)
    python benchmarks/input_pipeline.py --smoke         # seconds: checks the script works
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

common.quiet_tensorflow()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_transfer.data.augmentation import DEFAULT_AUGMENTATION, Augmentation  # noqa: E402
from keras_transfer.data.images import decode_image  # noqa: E402
from keras_transfer.data.keras2 import ImageDataGenerator  # noqa: E402
from keras_transfer.data.pipeline import decoded_images, make_dataset  # noqa: E402
from keras_transfer.data.sources import DataSpec, from_folder  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE
IDG_SETTINGS = {"rotation_range": 20, "zoom_range": 0.2, "horizontal_flip": True}
IDG_AUGMENTATION = Augmentation(**IDG_SETTINGS)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Measure:
    """Per-round throughput of one variant: images/s and CPU ms per image, for epochs 1 and 2."""

    rates: dict[int, list[float]] = field(default_factory=lambda: {1: [], 2: []})
    cpu_ms: dict[int, list[float]] = field(default_factory=lambda: {1: [], 2: []})

    def add(self, epoch: int, images: int, wall: float, cpu: float) -> None:
        self.rates[epoch].append(images / wall)
        self.cpu_ms[epoch].append(1000.0 * cpu / images)

    def rate(self, epoch: int) -> float:
        return statistics.median(self.rates[epoch])

    def cpu(self, epoch: int) -> float:
        return statistics.median(self.cpu_ms[epoch])


# --- what each variant iterates ----------------------------------------------------------------------------


def tf_epoch(dataset: tf.data.Dataset) -> Callable[[], int]:
    """One pass over a tf.data pipeline; returns the number of images."""

    def run() -> int:
        count = 0
        for batch in dataset:
            count += int(batch[0].shape[0])
        return count

    return run


def keras2_epoch(flow) -> Callable[[], int]:
    """One pass (len(flow) batches) over a Keras 2 DirectoryIterator, reshuffled after."""

    def run() -> int:
        count = 0
        for index in range(len(flow)):
            count += len(flow[index][0])
        flow.on_epoch_end()
        return count

    return run


def decode_only(spec: DataSpec, size: tuple[int, int], batch: int) -> tf.data.Dataset:
    """The decode limit: read, decode, resize, batch, prefetch; what a minimal tf.data input does."""
    paths = tf.data.Dataset.from_tensor_slices((spec.paths.astype(str), spec.labels))
    images = paths.map(lambda path, label: (tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(path), channels=3),
                                                            size), label),
                       num_parallel_calls=AUTOTUNE)
    return images.batch(batch).prefetch(AUTOTUNE)


def fit_flow(spec: DataSpec, size: tuple[int, int], batch: int) -> Callable[[], int]:
    """build_and_fit's order: a clean pass fills the shared cache, then a DEFAULT-augmented epoch reads it."""
    decoded = decoded_images(spec, size)
    passes = iter([make_dataset(spec, size, batch, decoded=decoded),
                   make_dataset(spec, size, batch, training=True, augmentation=DEFAULT_AUGMENTATION,
                                decoded=decoded)])
    return lambda: tf_epoch(next(passes))()


def make_variants(spec: DataSpec, folder: str, size: tuple[int, int], batch: int, keras2: bool,
                  previous: bool) -> dict[str, tuple[str, Callable[[], Callable[[], int]]]]:
    """name → (description, factory of a fresh epoch runner); a fresh runner starts with an empty cache."""
    variants = {
        "decode_only": ("tf.data decode+resize only (decode limit)",
                        lambda: tf_epoch(decode_only(spec, size, batch))),
        "ours_default": ("keras_transfer make_dataset, DEFAULT_AUGMENTATION",
                         lambda: tf_epoch(make_dataset(spec, size, batch, training=True,
                                                       augmentation=DEFAULT_AUGMENTATION))),
        "ours_idg": ("keras_transfer make_dataset, IDG-equivalent settings",
                     lambda: tf_epoch(make_dataset(spec, size, batch, training=True,
                                                   augmentation=IDG_AUGMENTATION))),
        "ours_fit_flow": ("build_and_fit's order: clean cache-filling pass, then DEFAULT",
                          lambda: fit_flow(spec, size, batch)),
        "kt_generator": ("keras_transfer.ImageDataGenerator flow_from_directory",
                         lambda: tf_epoch(ImageDataGenerator(**IDG_SETTINGS).flow_from_directory(
                             folder, target_size=size, batch_size=batch))),
    }
    if keras2:
        import tf_keras

        def keras2_flow():
            generator = tf_keras.preprocessing.image.ImageDataGenerator(**IDG_SETTINGS)
            return keras2_epoch(generator.flow_from_directory(folder, target_size=size, batch_size=batch))

        variants["keras2_idg"] = ("Keras 2 ImageDataGenerator (tf_keras), same settings", keras2_flow)
    if previous:
        import tf_kernel

        variants["tf_kernel_default"] = ("make_dataset, DEFAULT policy on TF's projective-transform kernel",
                                         lambda: tf_epoch(make_dataset(
                                             spec, size, batch, training=True,
                                             augmentation=tf_kernel.as_tf_kernel(DEFAULT_AUGMENTATION))))
    return variants


# --- measuring -----------------------------------------------------------------------------------------------


def timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """Runs one epoch; returns (images, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    images = run()
    return images, time.perf_counter() - wall, cpu_seconds() - cpu


def measure(variants: dict, repeats: int) -> dict[str, Measure]:
    """Rounds of epoch 1 + epoch 2 for every variant, the order rotated each round."""
    names = list(variants)
    results = {name: Measure() for name in names}
    for round_index in range(repeats):
        order = names[round_index % len(names):] + names[:round_index % len(names)]
        for name in order:
            run = variants[name][1]()
            for epoch in (1, 2):
                images, wall, cpu = timed(run)
                results[name].add(epoch, images, wall, cpu)
        print(f"  round {round_index + 1}/{repeats} done", flush=True)
    return results


def warm_up(spec: DataSpec, folder_variants: dict, batch: int) -> None:
    """One untimed epoch of every variant on a few batches: op set-up and XLA compiles leave the timings."""
    for _, factory in folder_variants.values():
        factory()()


def print_table(variants: dict, results: dict[str, Measure]) -> None:
    """The side-by-side table."""
    print(f"{'variant':<17} {'description':<55} {'epoch 1 img/s':>13} {'epoch 2 img/s':>13} "
          f"{'CPU ms/img e1':>13} {'e2':>6}")
    for name, (description, _) in variants.items():
        m = results[name]
        print(f"{name:<17} {description:<55} {m.rate(1):>13.0f} {m.rate(2):>13.0f} {m.cpu(1):>13.2f} "
              f"{m.cpu(2):>6.2f}")


def print_ratios(results: dict[str, Measure]) -> None:
    """The goal ratios (wall clock) and the same comparisons in CPU time."""
    decode = results["decode_only"]
    decode_rate = statistics.median(decode.rates[1] + decode.rates[2])
    decode_cpu = statistics.median(decode.cpu_ms[1] + decode.cpu_ms[2])
    default, idg = results["ours_default"], results["ours_idg"]
    value = default.rate(1) / decode_rate
    common.print_ratio("default_policy_epoch1_vs_decode_only", value, ">= 0.90", value >= 0.90)
    if "keras2_idg" in results:
        keras2 = results["keras2_idg"]
        for epoch in (1, 2):
            value = idg.rate(epoch) / keras2.rate(epoch)
            common.print_ratio(f"idg_equivalent_vs_keras2_idg_epoch{epoch}", value, ">= 5", value >= 5)
    value = default.rate(2) / decode_rate
    common.print_ratio("cached_epoch2_default_policy_vs_decode_limit", value, "> 1", value > 1)
    flow = results["ours_fit_flow"]
    common.print_ratio("build_and_fit_order_cache_filling_clean_pass_vs_decode_only", flow.rate(1) / decode_rate)
    value = flow.rate(2) / decode_rate
    common.print_ratio("build_and_fit_order_first_augmented_epoch_vs_decode_only", value, ">= 0.90", value >= 0.90)
    if "tf_kernel_default" in results:
        previous = results["tf_kernel_default"]
        for epoch in (1, 2):
            common.print_ratio(f"xla_warp_vs_tf_kernel_epoch{epoch}", default.rate(epoch) / previous.rate(epoch))
    print(f"  in CPU time: the default policy's epoch 1 costs {default.cpu(1) / decode_cpu:.2f}x, its epoch 2 "
          f"{default.cpu(2) / decode_cpu:.2f}x the CPU per image of decode-only ({decode_cpu:.2f} ms/img)")


# --- per-stage CPU profile ---------------------------------------------------------------------------------------


def stage_cost(dataset: tf.data.Dataset, repeats: int) -> tuple[float, float]:
    """Median (images/s, CPU ms/img) over `repeats` passes of a pipeline."""
    rates, costs = [], []
    for _ in range(repeats):
        images, wall, cpu = timed(tf_epoch(dataset))
        rates.append(images / wall)
        costs.append(1000.0 * cpu / images)
    return statistics.median(rates), statistics.median(costs)


def augmented(pixels: tf.data.Dataset, seeds: tf.data.Dataset, policy: Augmentation, batch: int) -> tf.data.Dataset:
    """Cached uint8 pixels → batches → `policy`, as `make_dataset` augments."""
    return tf.data.Dataset.zip((pixels.batch(batch), seeds)).map(
        lambda images, pair: (policy(images[0], pair), images[1]), num_parallel_calls=AUTOTUNE)


def profile(spec: DataSpec, size: tuple[int, int], batch: int, repeats: int, previous: bool) -> None:
    """CPU per image of each stage, on files already in the page cache (read_file is included in the decodes)."""
    paths = tf.data.Dataset.from_tensor_slices((spec.paths.astype(str), spec.labels))
    files = paths.map(lambda path, label: (tf.io.read_file(path), label)).cache()
    for _ in files:
        pass
    pixels = files.map(lambda data, label: (tf.cast(tf.round(decode_image(data, size)), tf.uint8), label),
                       num_parallel_calls=AUTOTUNE).cache()
    for _ in pixels:
        pass
    seeds = tf.data.Dataset.random(seed=0, rerandomize_each_iteration=True).batch(2)
    stages = {
        "decode_jpeg only (no resize)": files.map(
            lambda data, label: (tf.shape(tf.io.decode_jpeg(data, channels=3)), label),
            num_parallel_calls=AUTOTUNE).batch(batch),
        "decode_jpeg + tf.image.resize (decode limit)": files.map(
            lambda data, label: (tf.image.resize(tf.io.decode_jpeg(data, channels=3), size), label),
            num_parallel_calls=AUTOTUNE).batch(batch),
        "library decode_image + round + uint8 (cache fill)": files.map(
            lambda data, label: (tf.cast(tf.round(decode_image(data, size)), tf.uint8), label),
            num_parallel_calls=AUTOTUNE).batch(batch),
        "cached uint8 -> shuffle -> batch -> float32": pixels.shuffle(len(spec)).batch(batch).map(
            lambda images, labels: (tf.cast(images, tf.float32), labels), num_parallel_calls=AUTOTUNE),
    }
    for policy_name, policy in (("DEFAULT", DEFAULT_AUGMENTATION), ("IDG-equivalent", IDG_AUGMENTATION)):
        stages[f"  + library augmentation {policy_name} (XLA warp from uint8)"] = augmented(pixels, seeds, policy,
                                                                                         batch)
        if previous:
            import tf_kernel

            stages[f"  + {policy_name} on TF's ImageProjectiveTransformV3 kernel (before)"] = augmented(
                pixels, seeds, tf_kernel.as_tf_kernel(policy), batch)
    print(f"{'stage':<75} {'img/s':>8} {'CPU ms/img':>11}")
    for name, dataset in stages.items():
        rate, cost = stage_cost(dataset.prefetch(AUTOTUNE), repeats)
        print(f"{name:<75} {rate:>8.0f} {cost:>11.2f}", flush=True)


def check_warp(spec: DataSpec, size: tuple[int, int]) -> None:
    """Shows the library's XLA warp gives the TF kernel's pixels, and what XLA compilation costs once."""
    import tf_kernel

    images = tf.cast(next(iter(make_dataset(spec, size, 8, cache=False)))[0], tf.uint8)
    for name, policy in (("DEFAULT", DEFAULT_AUGMENTATION), ("IDG-equivalent", IDG_AUGMENTATION)):
        print(f"library XLA warp vs TF kernel, {name}: max |pixel difference| = "
              f"{tf_kernel.max_difference(policy, images):.4f} (0-255 scale)")
    fresh = Augmentation(rotation_range=7, horizontal_flip=True)
    started = time.perf_counter()
    fresh(images, tf.constant([1, 2]))
    first = time.perf_counter() - started
    started = time.perf_counter()
    fresh(images, tf.constant([3, 4]))
    print(f"XLA compile of a new policy: {first - (time.perf_counter() - started):.2f} s, once per batch shape "
          "and process")


def main(argv=None) -> int:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--height", type=int, default=375)
    parser.add_argument("--size", type=int, default=224, help="output side in pixels")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; figures are medians")
    parser.add_argument("--no-keras2", action="store_true", help="skip Keras 2's ImageDataGenerator")
    parser.add_argument("--no-tf-kernel", action="store_true",
                        help="skip the TF projective-transform kernel (the implementation before the XLA warp)")
    parser.add_argument("--no-profile", action="store_true", help="skip the per-stage CPU profile")
    args = parser.parse_args(argv)
    if common.smoke_requested(args.smoke):
        args.images, args.width, args.height, args.size, args.batch, args.repeats = 40, 120, 90, 48, 8, 1
    keras2 = not args.no_keras2 and _has_tf_keras()
    previous = not args.no_tf_kernel
    size = (args.size, args.size)
    folder = common.jpeg_folder(args.images, args.width, args.height)
    spec = from_folder(folder)
    print(f"input pipeline: {len(spec)} JPEGs {args.width}x{args.height} -> {args.size}x{args.size}, "
          f"batch {args.batch}, {args.repeats} rounds (medians); {common.machine_line()}")
    if not keras2:
        print("note: Keras 2's ImageDataGenerator skipped (pip install -e '.[bench]' to include it)")
    variants = make_variants(spec, str(folder), size, args.batch, keras2, previous)
    warm_count = min(len(spec), 2 * args.batch + len(spec) % args.batch)
    warm_spec = spec.subset(np.arange(warm_count))
    warm_up(warm_spec, {k: v for k, v in make_variants(warm_spec, str(folder), size, args.batch, False,
                                                        previous).items() if k != "kt_generator"}, args.batch)
    results = measure(variants, args.repeats)
    print_table(variants, results)
    print_ratios(results)
    if previous:
        check_warp(spec, size)
    if not args.no_profile:
        print("per-stage CPU profile:")
        profile(spec, size, args.batch, args.repeats, previous)
    return 0


def _has_tf_keras() -> bool:
    import importlib.util

    return importlib.util.find_spec("tf_keras") is not None


if __name__ == "__main__":
    sys.exit(main())
