"""`DataSpec` → fast `tf.data` pipelines.

decode (parallel) → resize → cache (uint8, in memory when it fits, else on
disk) → shuffle → batch → augment (batched, training only) → prefetch. From the
second epoch on no image is decoded again, and pipelines built on one
`decoded_images` dataset share its cache: `build_and_fit` decodes every image
once, in the feature-extraction pass, and its augmented epochs all read the cache.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import tensorflow as tf

from keras_transfer.data.augmentation import Augmentation
from keras_transfer.data.images import decode_image, resize_pixels
from keras_transfer.data.sources import DataSpec

AUTOTUNE = tf.data.AUTOTUNE
# Decoded images up to this many bytes are cached in memory, larger sets on disk.
MEMORY_CACHE_BYTES = int(os.environ.get("KERAS_TRANSFER_MEMORY_CACHE_BYTES", 4 * 1024**3))


def label_mode(spec: DataSpec) -> str:
    """How labels reach the model: `"categorical"` (one-hot), `"binary"` or `"multi_hot"`."""
    if spec.multi_label:
        return "multi_hot"
    return "binary" if spec.num_classes == 2 else "categorical"


def pixels_dataset(spec: DataSpec, image_size: tuple[int, int], dtype: tf.DType = tf.float32) -> tf.data.Dataset:
    """Unbatched `(pixels (H, W, 3) 0–255, label)` in the spec's order, decoded in parallel.

    Args:
        spec: the data.
        image_size: (height, width) the images are resized to.
        dtype: float32 (as resized) or uint8 (rounded, in the same step).
    """

    def pixels(image, decode: bool):
        image = decode_image(image, image_size) if decode else resize_pixels(image, image_size)
        return image if dtype == tf.float32 else tf.cast(tf.round(image), dtype)

    if spec.paths is not None:
        paths = tf.data.Dataset.from_tensor_slices((spec.paths.astype(str), spec.labels))
        return paths.map(lambda path, label: (pixels(tf.io.read_file(path), decode=True), label),
                         num_parallel_calls=AUTOTUNE, deterministic=True)
    if spec.images is not None:
        source, decode = tf.data.Dataset.from_tensor_slices((spec.images, spec.labels)), False
    else:
        source, decode = spec.dataset, spec.encoded
    return source.map(lambda image, label: (pixels(image, decode), label), num_parallel_calls=AUTOTUNE,
                      deterministic=True)


def decoded_images(
    spec: DataSpec,
    image_size: tuple[int, int],
    *,
    cache: str | bool | None = "auto",
    cache_dir: str | None = None,
) -> tf.data.Dataset:
    """Unbatched `(pixels uint8 (H, W, 3), label)` in the spec's order, decoded in parallel and cached.

    Build it once and pass it as `decoded=` to every `make_dataset` and
    `extract_features` over the same images: the first complete pass of any of
    them decodes and fills the cache, every later pass of any of them reads it.

    Args:
        spec: the data.
        image_size: (height, width) the images are resized to.
        cache: `"auto"` (memory when the decoded images fit in
            `MEMORY_CACHE_BYTES`, else disk), `"memory"`, `"disk"`, a file
            path prefix, or None/False for no cache (decode on every pass).
        cache_dir: folder for a disk cache (default: a temporary folder).

    Returns:
        A `tf.data.Dataset`.

    Example:
        >>> images = decoded_images(train_spec, (224, 224))
        >>> train_ds = make_dataset(train_spec, (224, 224), training=True, decoded=images)
    """
    # Cache uint8: 4x less memory than float32, exact for decoded images.
    return _cache(pixels_dataset(spec, image_size, tf.uint8), spec, image_size, cache, cache_dir)


def make_dataset(
    spec: DataSpec,
    image_size: tuple[int, int],
    batch_size: int = 32,
    *,
    training: bool = False,
    shuffle: bool | None = None,
    augmentation: Augmentation | None = None,
    seed: int = 0,
    cache: str | bool | None = "auto",
    cache_dir: str | None = None,
    decoded: tf.data.Dataset | None = None,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """The batched pipeline for training (shuffled, augmented) or evaluation.

    Args:
        spec: the data.
        image_size: (height, width) the images are resized to.
        batch_size: images per batch (a batch size above the data size gives one batch).
        training: shuffle every epoch and augment.
        shuffle: overrides the shuffling `training` implies (feature
            extraction augments in the spec's order).
        augmentation: the training augmentation (None: none).
        seed: seeds shuffling and augmentation.
        cache, cache_dir: the decoded-image cache, see `decoded_images`.
        decoded: the spec's `decoded_images` to read (and share) instead of
            decoding anew; `cache` and `cache_dir` are then not used.
        drop_remainder: training batches all of `batch_size` (the last partial one dropped), so every step
            has one static shape (TPUs, XLA); evaluation keeps every image.

    Returns:
        A `tf.data.Dataset` of `(pixels float32 (B, H, W, 3), labels)` with
        labels one-hot (multi-class), (B, 1) floats (binary) or multi-hot.

    Example:
        >>> train_ds = make_dataset(train_spec, (224, 224), 32, training=True, augmentation=DEFAULT_AUGMENTATION)
    """
    mode = label_mode(spec)
    num_classes = spec.num_classes
    dataset = decoded if decoded is not None else decoded_images(spec, image_size, cache=cache,
                                                                  cache_dir=cache_dir)
    if training if shuffle is None else shuffle:
        dataset = dataset.shuffle(min(len(spec), 20_000), seed=seed, reshuffle_each_iteration=True)
    if training and drop_remainder and len(spec) < batch_size:
        raise ValueError(f"drop_remainder=True with batch_size={batch_size} leaves no training batch of the "
                         f"{len(spec)} training images: lower batch_size or pass drop_remainder=False.")
    dataset = dataset.batch(max(1, min(batch_size, len(spec))) if not training else batch_size,
                            drop_remainder=bool(training and drop_remainder))

    def model_labels(labels):
        if mode == "categorical":
            return tf.one_hot(tf.cast(labels, tf.int32), num_classes)
        if mode == "binary":
            return tf.cast(tf.reshape(labels, [-1, 1]), tf.float32)
        return tf.cast(labels, tf.float32)

    if training and augmentation is not None and not augmentation.is_identity:
        # The augmentation reads the cached uint8 pixels directly and returns float32.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip((dataset, seeds)).map(
            lambda batch, pair: (augmentation(batch[0], pair), model_labels(batch[1])),
            num_parallel_calls=AUTOTUNE,
        )
    else:
        dataset = dataset.map(lambda images, labels: (tf.cast(images, tf.float32), model_labels(labels)),
                              num_parallel_calls=AUTOTUNE)
    return dataset.prefetch(AUTOTUNE)


def _cache(dataset, spec, image_size, cache, cache_dir):
    if not cache:
        return dataset
    if cache == "auto":
        height, width = image_size
        cache = "memory" if len(spec) * height * width * 3 <= MEMORY_CACHE_BYTES else "disk"
    if cache == "memory":
        return dataset.cache()
    if cache == "disk":
        folder = cache_dir or tempfile.mkdtemp(prefix="keras_transfer_cache_")
        os.makedirs(folder, exist_ok=True)
        return dataset.cache(os.path.join(folder, f"cache_{uuid.uuid4().hex}"))
    return dataset.cache(str(cache))
