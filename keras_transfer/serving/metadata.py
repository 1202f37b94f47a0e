"""`keras_transfer.json` and `labels.txt`: what an export folder says about its model.

`keras_transfer.json` records the classes, input, preprocessing, signatures,
training config and metrics, the export checks, the TFLite/ONNX files, the
library versions and every file's size; `keras_transfer.inference.load`
reads it back.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.models.preprocessing import BackbonePreprocessing
from keras_transfer.serialization import to_jsonable
from keras_transfer.serving.inference import METADATA_FILE, SERVING_IMAGES, SERVING_PIXELS, SUPPORTED_FORMAT_VERSION
from keras_transfer.serving.savedmodel import SERVING_TPU, TPU_FUNCTION_ALIAS
from keras_transfer.serving.spec import ServingSpec
from keras_transfer.serving.tflite import TFLiteResult

FORMAT_VERSION = SUPPORTED_FORMAT_VERSION

_PREPROCESSING_TEXT = {
    "tf": "pixels / 127.5 - 1 (scaled to -1..1)",
    "torch": "(pixels / 255 - ImageNet mean) / ImageNet std",
    "caffe": "RGB to BGR, minus the ImageNet mean",
    "none": "none outside the backbone (the backbone rescales inside itself)",
}


def build_metadata(
    model: keras.Model,
    spec: ServingSpec,
    *,
    config: Mapping | None,
    metrics: Mapping | None,
    parity: dict,
    tflite: Mapping[str, TFLiteResult],
    onnx: dict | None,
    tpu_batch_size: int | None,
    keras_accuracy: float | None,
) -> dict:
    """The contents of `keras_transfer.json` (without the file list).

    Args:
        model: the exported classifier.
        spec: its `ServingSpec`.
        config: the training configuration (made JSON-able; NaN/inf become null).
        metrics: validation metrics (made JSON-able; NaN/inf become null).
        parity: from `verify_saved_model`.
        tflite: the TFLite files, by variant.
        onnx: from `write_onnx`, or None.
        tpu_batch_size: the `serving_tpu` batch size, or None.
        keras_accuracy: the Keras model's accuracy on the validation data, or None.

    Returns:
        The metadata dict; `write_metadata` adds `files` and writes it.

    Example:
        >>> build_metadata(model, spec, config={}, metrics={}, parity={"max_abs_diff": 0.0}, tflite={},
        ...                onnx=None, tpu_batch_size=None, keras_accuracy=None)["num_classes"]
        3
    """
    height, width = spec.image_size
    signatures = {
        SERVING_IMAGES: "images: tf.string [batch] encoded JPEG/PNG/GIF/BMP/WebP",
        SERVING_PIXELS: (
            "pixels: float32 [batch, height, width, 3] RGB 0-255 (cast uint8 to float32; other sizes are resized)"
        ),
    }
    if tpu_batch_size:
        signatures[SERVING_TPU] = f"images: tf.string [{tpu_batch_size}] encoded images (static batch)"
    return {
        "format_version": FORMAT_VERSION,
        "model_name": model.name,
        "backbone": model.name.removesuffix("_classifier"),
        "image_size": [height, width],
        "input": {"name": "pixels", "dtype": "float32", "layout": "NHWC", "color": "RGB", "range": [0, 255]},
        "class_names": list(spec.class_names),
        "num_classes": len(spec.class_names),
        "multi_label": spec.multi_label,
        "output": _output_kind(spec),
        "top_k": spec.top_k,
        "preprocessing": preprocessing_description(model, spec.image_size, spec.resize_method),
        "signatures": signatures,
        "outputs": {
            "probabilities": "float32 [batch, num_classes]",
            "class_ids": "int32 [batch, top_k]",
            "class_names": "string [batch, top_k]",
            "scores": "float32 [batch, top_k]",
        },
        "accelerator": _accelerator_metadata(tpu_batch_size),
        "training_config": to_jsonable(config or {}),
        "validation_metrics": to_jsonable(metrics or {}),
        "export_checks": {"saved_model_vs_keras": parity, "keras_validation_accuracy": keras_accuracy},
        "tflite": [result.to_dict() for result in tflite.values()],
        "onnx": onnx,
        "versions": versions(),
        "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _output_kind(spec: ServingSpec) -> str:
    if spec.multi_label:
        return "sigmoid per label (multi-label)"
    if spec.binary:
        return f"one sigmoid = P({spec.class_names[1]}), served as two columns [1 - p, p]"
    return "softmax"


def _accelerator_metadata(tpu_batch_size: int | None) -> dict | None:
    if not tpu_batch_size:
        return None
    return {
        "type": "tpu",
        "signature": SERVING_TPU,
        "function_alias": TPU_FUNCTION_ALIAS,
        "batch_size": tpu_batch_size,
        "jit_compile": True,
    }


def preprocessing_description(model: keras.Model, image_size: tuple[int, int], resize_method: str) -> dict:
    """How images become model inputs, for `keras_transfer.json`.

    Args:
        model: the classifier (its `BackbonePreprocessing` layer, if any, gives the mode).
        image_size: (height, width) of the model's input.
        resize_method: the `tf.image.resize` method serving uses.

    Returns:
        `{"decoding", "in_model", "resize_method", "mode", "formula", "augmentation"}`.

    Example:
        >>> preprocessing_description(model, (224, 224), "bilinear")["formula"]
        'pixels / 127.5 - 1 (scaled to -1..1)'
    """
    modes = [
        layer.mode
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, BackbonePreprocessing)
    ]
    mode = modes[0] if modes else None
    return {
        "decoding": (
            f"decode_image: JPEG/PNG/GIF/BMP/WebP to RGB uint8 (grayscale repeated, alpha dropped, first GIF "
            f"frame), {resize_method} resize to {image_size[0]}x{image_size[1]} without cropping, float32 0-255"
        ),
        "in_model": "BackbonePreprocessing layer" if modes else "none found (the model takes pixels as they are)",
        "resize_method": resize_method,
        "mode": mode,
        "formula": _PREPROCESSING_TEXT.get(mode, "unknown"),
        "augmentation": "none in the exported graph (the model is called with training=False)",
    }


def versions() -> dict:
    """Versions of keras_transfer, TensorFlow, Keras, NumPy and Python.

    Returns:
        `{"keras_transfer", "tensorflow", "keras", "numpy", "python"}` version strings
        (`"unknown"` for keras_transfer when it is not installed as a package).

    Example:
        >>> versions()["python"]
        '3.11.7'
    """
    try:
        package = importlib.metadata.version("keras-transfer")
    except importlib.metadata.PackageNotFoundError:
        package = "unknown"
    return {
        "keras_transfer": package,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def write_metadata(folder: Path, metadata: dict) -> dict[str, int]:
    """Writes `keras_transfer.json` with the list of files, and returns every file's size.

    The list inside the JSON covers every other file; the returned dict also
    has the JSON file itself.

    Args:
        folder: the export folder, with every other file already written.
        metadata: from `build_metadata`; `files` is added to it.

    Returns:
        Relative POSIX path → size in bytes, `keras_transfer.json` included.

    Example:
        >>> files = write_metadata(Path("out"), metadata)
    """
    files = list_files(folder)
    metadata["files"] = [{"path": name, "size_bytes": size} for name, size in files.items()]
    path = folder / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {**files, METADATA_FILE: path.stat().st_size}


def list_files(folder: Path) -> dict[str, int]:
    """Every file under `folder`: relative POSIX path → size in bytes, sorted.

    Args:
        folder: a folder.

    Returns:
        `{relative path: size}`, sorted by path.

    Example:
        >>> list_files(Path("exports/shapes"))["labels.txt"]
        23
    """
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_labels(path: Path, class_names: Sequence[str]) -> None:
    """Writes one class name per line (`labels.txt`).

    Args:
        path: the file to write.
        class_names: the classes, in output order.

    Returns:
        None.

    Example:
        >>> write_labels(Path("out/labels.txt"), ["circle", "square"])
    """
    path.write_text("\n".join(class_names) + "\n", encoding="utf-8")
