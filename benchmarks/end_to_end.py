"""End to end: `build_and_fit` against the Keras-guide recipe, wall time to reach the same validation accuracy.

Both train VGG16 with real pretrained weights (`vgg16_hed_weights()`) on the
same pixels (a Fashion-MNIST subset by default, RGB at 32 px so CPU time stays
a few minutes) and are scored on the same validation images.

- reference, the way Keras' transfer-learning guide writes it: a frozen
  VGG16 (`training=False`) with `preprocess_input`, pooling, dropout and a
  softmax layer; augmentation with `RandomFlip` + `RandomRotation(0.1)` mapped
  over tf.data batches; the head trained `--head-epochs` epochs with
  `model.fit` (Adam 1e-3); then the backbone unfrozen, the model recompiled
  at Adam 1e-5 and fine-tuned `--fine-tune-epochs` epochs;
- `build_and_fit(..., backbone="vgg16", weights=...)` with its defaults
  (cached-feature head stage, top blocks, all blocks; `--epochs` per stage).

The target is the reference's final validation accuracy. Each contender's
time is from its start (model building included) to the end of its first
epoch at or above the target.

Usage:
    python benchmarks/end_to_end.py            # a few minutes on 2 cores
    python benchmarks/end_to_end.py --smoke    # seconds: checks the script works
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
from transfer_data import EpochClock, Split, load_split, parse_split_args, split_parser, vgg16_weights  # noqa: E402

from keras_transfer import build_and_fit  # noqa: E402

AUTOTUNE = tf.data.AUTOTUNE
# model.fit's default shuffle=True does not apply to a tf.data input; Keras says so every fit.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")


def guide_datasets(split: Split, batch: int, seed: int) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """tf.data as the guide builds it: shuffle, batch, Keras augmentation layers mapped over batches, prefetch."""
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1)],
                               name="data_augmentation")
    train = tf.data.Dataset.from_tensor_slices((split.x_train, split.y_train)).shuffle(len(split.x_train),
                                                                                        seed=seed)
    train = train.batch(batch).map(lambda x, y: (augment(tf.cast(x, tf.float32), training=True), y),
                                   num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((split.x_val, split.y_val)).batch(batch).prefetch(AUTOTUNE)
    return train, val


def guide_model(split: Split, weights: str) -> tuple[keras.Model, keras.Model]:
    """Frozen VGG16 → pooling → dropout → softmax, preprocessing inside; returns (model, backbone)."""
    size = split.x_train.shape[1]
    base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(size, size, 3))
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    x = keras.applications.vgg16.preprocess_input(keras.ops.cast(inputs, "float32"))
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(split.num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs), base


def run_reference(split: Split, weights: str, head_epochs: int, fine_tune_epochs: int, batch: int,
                  seed: int, clock: EpochClock) -> float:
    """The guide's recipe; returns the final validation accuracy (epoch times go to `clock`)."""
    keras.utils.set_random_seed(seed)
    clock.restart()
    train, val = guide_datasets(split, batch, seed)
    model, base = guide_model(split, weights)
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=metrics)
    model.fit(train, epochs=head_epochs, validation_data=val, callbacks=[clock.callback("head")], verbose=0)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy", metrics=metrics)
    history = model.fit(train, epochs=fine_tune_epochs, validation_data=val,
                        callbacks=[clock.callback("fine_tune")], verbose=0)
    return float(history.history["val_accuracy"][-1])


def run_build_and_fit(split: Split, weights: str, epochs: int, batch: int, seed: int,
                      clock: EpochClock) -> tuple[float, dict]:
    """`build_and_fit` with its defaults; returns (final validation accuracy, timings)."""
    clock.restart()
    with clock.recording("build_and_fit"):
        result = build_and_fit((split.x_train, split.y_train), backbone="vgg16", weights=weights,
                               image_size=split.x_train.shape[1], validation_data=(split.x_val, split.y_val),
                               class_names=split.class_names, batch_size=batch, seed=seed, epochs=epochs,
                               scan=False, verbose=0)
    clock.relabel(result.history)
    return float(result.metrics["accuracy"]), result.timings


def main(argv=None) -> int:
    parser = split_parser(__doc__.splitlines()[0], epochs=5, epochs_help="build_and_fit: most epochs per stage")
    parser.add_argument("--head-epochs", type=int, default=10, help="reference: head epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=5, help="reference: fine-tuning epochs")
    args = parse_split_args(parser, argv, head_epochs=1, fine_tune_epochs=1, epochs=1)
    split = load_split(args.train, args.val, args.size, args.data, args.seed)
    weights = vgg16_weights()
    print(f"end to end: VGG16 (real pretrained weights) on {split.describe()}, batch {args.batch}; "
          f"{common.machine_line()}")

    clock = EpochClock()
    reference_accuracy = run_reference(split, weights, args.head_epochs, args.fine_tune_epochs, args.batch,
                                       args.seed, clock)
    reference_total = clock.epochs[-1][0]
    reference_time = clock.time_to_reach(reference_accuracy)
    print(f"reference (guide: {args.head_epochs} head + {args.fine_tune_epochs} fine-tune epochs): final val "
          f"accuracy {reference_accuracy:.4f}, reached after {reference_time:.1f} s, total {reference_total:.1f} s")
    print(f"  curve: {clock.curve()}")

    keras.backend.clear_session()
    ours_accuracy, timings = run_build_and_fit(split, weights, args.epochs, args.batch, args.seed, clock)
    ours_time = clock.time_to_reach(reference_accuracy)
    print(f"build_and_fit (default plan, {args.epochs} epochs per stage): final val accuracy {ours_accuracy:.4f}, "
          f"total {timings['total']:.1f} s (features {timings.get('features', 0.0):.1f} s)")
    print(f"  curve: {clock.curve()}")
    if ours_time is None:
        print(f"build_and_fit never reached the reference's {reference_accuracy:.4f}")
        common.print_ratio("build_and_fit_time_to_reference_accuracy_vs_reference", float("inf"), "<= 0.50", False)
    else:
        print(f"build_and_fit reached {reference_accuracy:.4f} after {ours_time:.1f} s")
        value = ours_time / reference_time
        common.print_ratio("build_and_fit_time_to_reference_accuracy_vs_reference", value, "<= 0.50", value <= 0.5)
    print(f"final val accuracy difference (build_and_fit - reference): "
          f"{100 * (ours_accuracy - reference_accuracy):+.1f} points")
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - start:.0f} s)")
    sys.exit(code)
