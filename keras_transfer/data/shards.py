"""TFRecord shards: a data set written once (scanned, decoded and resized, or as the original file bytes) to
any `tf.io.gfile` path, and read back as a `DataSpec` that `build_and_fit` trains from.

A shard folder holds `shard-00000-of-00008.tfrecord` files, one `.labels.npy` beside each (the labels without
reading the images: class counts and the stratified split need them) and `manifest.json`, written last, so a
folder without a manifest is an unfinished write. Examples are shuffled (seeded) before they are dealt out,
so every shard holds every class: per-file sharding across workers then gives each worker a fair sample.

Paths go through `tf.io.gfile`: local folders, `gs://` buckets (registered in this TensorFlow) and `ram://`
work; `s3://` needs the `tensorflow-io` plugin.

Example:
    >>> write_shards("photos/", "gs://bucket/photos-224", image_size=224, shards=16)
    >>> build_and_fit("gs://bucket/photos-224", backbone="efficientnetv2b0")
"""

from __future__ import annotations

import io
import json
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.data.spec import DataSpec

MANIFEST = "manifest.json"
FORMAT = "keras_transfer.shards"
FORMAT_VERSION = 1
ENCODINGS = ("pixels", "encoded")


@dataclass(frozen=True)
class ShardManifest:
    """What a shard folder holds (its `manifest.json`).

    Attributes:
        folder: the shard folder (any `tf.io.gfile` path).
        encoding: `"pixels"` (uint8 pixels, decoded and resized at write time) or `"encoded"` (the file bytes).
        image_size: (height, width) of `"pixels"` shards, None for `"encoded"`.
        class_names: the classes in label order.
        multi_label: whether labels are multi-hot rows.
        shards: one `{"file", "labels", "count"}` dict per TFRecord file, in reading order.
        class_counts: images per class.
        source: what the shards were written from.
        skipped: files the scan left out while writing.
    """

    folder: str
    encoding: str
    image_size: tuple[int, int] | None
    class_names: list[str]
    multi_label: bool
    shards: list[dict]
    class_counts: dict[str, int]
    source: str = ""
    skipped: tuple = ()

    @property
    def count(self) -> int:
        """Images in all shards."""
        return int(sum(shard["count"] for shard in self.shards))

    @property
    def files(self) -> list[str]:
        """The TFRecord files, full paths, in reading order."""
        return [posixpath.join(self.folder, shard["file"]) for shard in self.shards]

    def to_dict(self) -> dict[str, Any]:
        """The manifest as `manifest.json` holds it."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "encoding": self.encoding,
                "image_size": list(self.image_size) if self.image_size else None,
                "class_names": list(self.class_names), "multi_label": self.multi_label, "count": self.count,
                "class_counts": dict(self.class_counts), "shards": list(self.shards), "source": self.source,
                "skipped": list(self.skipped)}


def write_shards(
    data: Any,
    path: str,
    *,
    image_size: int | Sequence[int] | None = 224,
    encoding: str = "pixels",
    shards: int | None = None,
    images_per_shard: int = 2048,
    shuffle: bool = True,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    overwrite: bool = False,
    **source_options: Any,
) -> ShardManifest:
    """Writes a data set as TFRecord shards with a manifest, to a local folder or a bucket.

    Args:
        data: any source `build_and_fit` takes (a folder, CSV, arrays, `(paths, labels)`, tf.data, `tfds:`).
        path: the shard folder to create (`tf.io.gfile`: local, `gs://...`, `ram://...`).
        image_size: int or (height, width) the images are resized to (`encoding="pixels"`).
        encoding: `"pixels"`: decoded, resized uint8 pixels (no decoding while training, larger files);
            `"encoded"`: the original file bytes (JPEG/PNG; decoded and resized while training, any size later).
        shards: number of files (default: `images_per_shard` images each, at least 1).
        images_per_shard: images per file when `shards` is not given.
        shuffle: deal the images out in a seeded random order (every shard then holds every class).
        seed: seeds the order.
        class_names: the class order (default: as `build_and_fit` finds it).
        overwrite: replace shards already at `path`.
        **source_options: how the source is read and checked (`scan`, `strict`, `label_column`, ...; see
            `keras_transfer.data.sources.load_data`).

    Returns:
        The `ShardManifest` written (its `manifest.json` last).

    Raises:
        ValueError: an unknown encoding, `"encoded"` for images that are not files, or shards already at `path`.

    Example:
        >>> manifest = write_shards("photos/", "ram://photos", image_size=64, shards=4)
        >>> manifest.count, manifest.class_names
        (120, ['cat', 'dog', 'fox'])
    """
    from keras_transfer.data.pipeline import pixels_dataset
    from keras_transfer.data.sources import to_spec

    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}.")
    spec = to_spec(data, class_names=class_names, **source_options)
    if encoding == "encoded" and spec.paths is None:
        raise ValueError("encoding='encoded' stores the original image files, but this data is "
                         f"{'pixel arrays' if spec.images is not None else 'a tf.data.Dataset'}: use "
                         "encoding='pixels'.")
    size = _size_pair(image_size) if encoding == "pixels" else None
    if encoding == "pixels" and size is None:
        raise ValueError("encoding='pixels' needs image_size= (the size the images are stored at).")
    _prepare_folder(path, overwrite)
    order = np.random.default_rng(seed).permutation(len(spec)) if shuffle else np.arange(len(spec))
    spec = spec.subset(order)
    count = shards or max(1, int(np.ceil(len(spec) / images_per_shard)))
    count = max(1, min(count, len(spec)))
    if encoding == "pixels":
        source = pixels_dataset(spec, size, tf.uint8).map(
            lambda image, label: (tf.io.serialize_tensor(image), label))
    else:
        source = tf.data.Dataset.from_tensor_slices((spec.paths.astype(str), spec.labels)).map(
            lambda file, label: (tf.io.read_file(file), label))
    bounds = np.linspace(0, len(spec), count + 1).astype(int)
    entries, rows = [], source.as_numpy_iterator()
    for index in range(count):
        name = f"shard-{index:05d}-of-{count:05d}"
        labels = spec.labels[bounds[index]:bounds[index + 1]]
        with tf.io.TFRecordWriter(posixpath.join(path, f"{name}.tfrecord")) as writer:
            for position in range(bounds[index], bounds[index + 1]):
                image, label = next(rows)
                writer.write(_example(image, label, int(order[position]), spec.multi_label))
        _write_npy(posixpath.join(path, f"{name}.labels.npy"), labels)
        entries.append({"file": f"{name}.tfrecord", "labels": f"{name}.labels.npy", "count": int(len(labels))})
    manifest = ShardManifest(folder=path, encoding=encoding, image_size=size, class_names=list(spec.class_names),
                             multi_label=spec.multi_label, shards=entries, class_counts=spec.class_counts(),
                             source=spec.source or (data if isinstance(data, str) else f"<{type(data).__name__}>"),
                             skipped=tuple(spec.skipped))
    with tf.io.gfile.GFile(posixpath.join(path, MANIFEST), "w") as handle:  # last: it marks the write complete
        handle.write(json.dumps(manifest.to_dict(), indent=1, default=str))
    return manifest


def is_shard_path(path: Any) -> bool:
    """Whether `path` is a shard folder (holding `manifest.json`) or a shard manifest itself."""
    if not isinstance(path, str) or path.startswith("tfds:"):
        return False
    try:
        if posixpath.basename(path.rstrip("/")) == MANIFEST:
            return tf.io.gfile.exists(path)
        return tf.io.gfile.exists(posixpath.join(path, MANIFEST))
    except tf.errors.OpError:
        return False


def read_manifest(path: str) -> ShardManifest:
    """Reads a shard folder's manifest (or the manifest file given directly).

    Raises:
        FileNotFoundError: no manifest (an unfinished or failed write, or not a shard folder).
        ValueError: a file that is not a keras_transfer shard manifest.

    Example:
        >>> read_manifest("gs://bucket/photos-224").class_counts
        {'cat': 1200, 'dog': 1180}
    """
    manifest_path = path if posixpath.basename(path.rstrip("/")) == MANIFEST else posixpath.join(path, MANIFEST)
    if not tf.io.gfile.exists(manifest_path):
        raise FileNotFoundError(f"{manifest_path} does not exist: {path} is not a finished shard folder (the "
                                "manifest is written last; write the shards again with write_shards).")
    with tf.io.gfile.GFile(manifest_path) as handle:
        record = json.loads(handle.read())
    if record.get("format") != FORMAT:
        raise ValueError(f"{manifest_path} is not a keras_transfer shard manifest (format "
                         f"{record.get('format')!r}).")
    size = record.get("image_size")
    return ShardManifest(folder=posixpath.dirname(manifest_path), encoding=record["encoding"],
                         image_size=tuple(size) if size else None, class_names=list(record["class_names"]),
                         multi_label=bool(record["multi_label"]), shards=list(record["shards"]),
                         class_counts=dict(record["class_counts"]), source=record.get("source", ""),
                         skipped=tuple(record.get("skipped", ())))


def shard_records(manifest: ShardManifest, with_index: bool = False) -> tf.data.Dataset:
    """The shards' examples as `(image, label)` (or `(image, label, source index)`), in file order.

    `"pixels"` shards give uint8 (H, W, 3) images, `"encoded"` shards the file bytes. One
    `TFRecordDataset` over the file list: `tf.data`'s per-file auto-sharding can split it across workers.
    """
    multi = manifest.multi_label
    features = {"image": tf.io.FixedLenFeature([], tf.string), "index": tf.io.FixedLenFeature([], tf.int64),
                "label": (tf.io.FixedLenFeature([len(manifest.class_names)], tf.float32) if multi
                          else tf.io.FixedLenFeature([], tf.int64))}
    pixels = manifest.encoding == "pixels"

    def parse(record):
        example = tf.io.parse_single_example(record, features)
        image = example["image"]
        if pixels:
            image = tf.ensure_shape(tf.io.parse_tensor(image, tf.uint8), (*manifest.image_size, 3))
        return (image, example["label"], example["index"]) if with_index else (image, example["label"])

    return tf.data.TFRecordDataset(manifest.files).map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                                                        deterministic=True)


def from_shards(path: str, class_names: Sequence[str] | None = None, role: str = "training") -> DataSpec:
    """A shard folder (or its manifest) → `DataSpec`; the labels come from the `.labels.npy` files.

    Args:
        path: the shard folder or its `manifest.json`.
        class_names: the class order expected (validation data: the training classes); the shards' own
            names must be the same set.
        role: "training", "validation", ... (for error messages).

    Returns:
        A `DataSpec` whose `dataset` reads the shards (`encoded` for `"encoded"` shards) and whose `shard_files`
        lists them (per-file sharding across workers).

    Raises:
        ValueError: class names that differ from the ones given.

    Example:
        >>> spec = from_shards("ram://photos")
        >>> spec.class_names, len(spec)
        (['cat', 'dog', 'fox'], 120)
    """
    from keras_transfer.data.labels import relabel

    manifest = read_manifest(path)
    labels = np.concatenate([_read_npy(posixpath.join(manifest.folder, shard["labels"]))
                             for shard in manifest.shards])
    spec = DataSpec(class_names=list(manifest.class_names), labels=labels, multi_label=manifest.multi_label,
                    dataset=shard_records(manifest), encoded=manifest.encoding == "encoded", source=path,
                    skipped=list(manifest.skipped), shard_files=tuple(manifest.files))
    if class_names and list(class_names) != spec.class_names:
        return relabel(spec, class_names, role)
    return spec


def iterate_shards(path: str) -> Iterator[tuple[np.ndarray, Any, int]]:
    """`(image, label, source index)` of every example, as numpy (for checks and conversions).

    Example:
        >>> image, label, index = next(iterate_shards("ram://photos"))
    """
    yield from shard_records(read_manifest(path), with_index=True).as_numpy_iterator()


def _example(image: bytes, label, index: int, multi_label: bool) -> bytes:
    label_feature = (tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(label, np.float32)))
                     if multi_label else tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])))
    return tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image])),
        "label": label_feature,
        "index": tf.train.Feature(int64_list=tf.train.Int64List(value=[index])),
    })).SerializeToString()


def _prepare_folder(path: str, overwrite: bool) -> None:
    if tf.io.gfile.exists(path) and tf.io.gfile.listdir(path):
        if not overwrite:
            raise ValueError(f"{path} already holds files: choose a new folder, or pass overwrite=True "
                             "(--overwrite) to replace them.")
        tf.io.gfile.rmtree(path)
    tf.io.gfile.makedirs(path)


def _write_npy(path: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    with tf.io.gfile.GFile(path, "wb") as handle:
        handle.write(buffer.getvalue())


def _read_npy(path: str) -> np.ndarray:
    with tf.io.gfile.GFile(path, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)


def _size_pair(image_size: int | Sequence[int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int):
        return (image_size, image_size)
    height, width = image_size
    return (int(height), int(width))
