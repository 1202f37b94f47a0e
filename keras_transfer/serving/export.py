"""`export()`: a trained classifier as a self-contained, servable artifact folder.

One call writes, atomically, a folder that holds everything needed to serve,
ship or keep training a model:

```
<directory>/
    saved_model/            TensorFlow SavedModel (TF Serving, saved_model_cli, tf.saved_model.load)
        saved_model.pb, variables/, assets/labels.txt
    model.keras             the Keras model, for further fine-tuning (loads with safe_mode=True)
    labels.txt              class names, one per line, in output order
    keras_transfer.json     what the model is and how it was made (see `export`)
    tflite/                 optional: model_<variant>.tflite files and labels.txt
    model.onnx              optional: ONNX (needs `pip install keras-transfer[onnx]`)
```

The SavedModel's signatures take encoded images (`serving_default`) or pixels
(`serving_pixels`) and return probabilities plus the top-k class ids, class
names and scores, so a client needs neither this package nor Keras.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from keras_transfer.data.images import decode_image, resize_pixels
from keras_transfer.models.preprocessing import BackbonePreprocessing
from keras_transfer.serving.inference import (
    LABELS_FILE,
    METADATA_FILE,
    SAVED_MODEL_DIR,
    SERVING_IMAGES,
    SERVING_PIXELS,
    SUPPORTED_FORMAT_VERSION,
    run_tflite,
)

KERAS_FILE = "model.keras"
TFLITE_DIR = "tflite"
ONNX_FILE = "model.onnx"
FORMAT_VERSION = SUPPORTED_FORMAT_VERSION

SERVING_TPU = "serving_tpu"
TPU_FUNCTION_ALIAS = "tpu_func"
DEFAULT_TPU_BATCH_SIZE = 8

TFLITE_VARIANTS = ("float32", "float16", "dynamic_int8", "int8")
_TFLITE_ALIASES = {
    "fp32": "float32",
    "fp16": "float16",
    "dynamic": "dynamic_int8",
    "dynamic_range": "dynamic_int8",
    "full_int8": "int8",
    "integer": "int8",
}
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
# Full-integer calibration looks at this many representative images at most.
MAX_CALIBRATION_IMAGES = 200
# The exported SavedModel must reproduce the in-memory model to this tolerance.
PARITY_TOLERANCE = 1e-4

_PREPROCESSING_TEXT = {
    "tf": "pixels / 127.5 - 1 (scaled to -1..1)",
    "torch": "(pixels / 255 - ImageNet mean) / ImageNet std",
    "caffe": "RGB to BGR, minus the ImageNet mean",
    "none": "none outside the backbone (the backbone rescales inside itself)",
}
# Layers that only act while training; a served model must not contain them.
_TRAINING_ONLY_PREFIXES = ("Random", "Gaussian", "AlphaDropout", "Augment", "AugMix", "CutMix", "MixUp", "RandAugment")


@dataclass(frozen=True)
class ServingSpec:
    """What the serving graph needs to know about a classifier.

    Attributes:
        image_size: (height, width) of the model's input.
        class_names: the classes, in output order.
        multi_label: independent sigmoid outputs (several labels per image).
        binary: the model has ONE sigmoid unit = P(class_names[1]); serving
            expands it to two columns [1 - p, p].
        top_k: how many classes `class_ids`, `class_names` and `scores` hold.
        resize_method: the `tf.image.resize` method training resized with.
    """

    image_size: tuple[int, int]
    class_names: tuple[str, ...]
    multi_label: bool
    binary: bool
    top_k: int
    resize_method: str = "bilinear"


@dataclass
class TFLiteResult:
    """One TFLite file written by `export`.

    Attributes:
        variant: `"float32"`, `"float16"`, `"dynamic_int8"` or `"int8"`.
        path: the `.tflite` file.
        size_bytes: its size.
        input_dtype: what its input tensor takes (`"float32"` or `"uint8"` pixels 0–255).
        accuracy: accuracy on `validation_data` (None without it).
        agreement: share of validation images whose top-1 class equals the Keras model's.
        max_abs_diff: largest probability difference to the Keras model on validation images.
    """

    variant: str
    path: Path
    size_bytes: int
    input_dtype: str
    accuracy: float | None = None
    agreement: float | None = None
    max_abs_diff: float | None = None

    def to_dict(self) -> dict:
        """A JSON-friendly dict (the path relative to the export folder)."""
        return {
            "variant": self.variant,
            "file": f"{TFLITE_DIR}/{self.path.name}",
            "size_bytes": self.size_bytes,
            "input_dtype": self.input_dtype,
            "accuracy": self.accuracy,
            "agreement_with_keras": self.agreement,
            "max_abs_diff_vs_keras": self.max_abs_diff,
        }


@dataclass
class ExportResult:
    """What `export` wrote.

    Attributes:
        directory: the artifact folder.
        metadata: the contents of `keras_transfer.json`.
        files: every file in the folder (relative path → size in bytes),
            `keras_transfer.json` included.
        tflite: the TFLite files, by variant.
        onnx: the ONNX file, or None.
    """

    directory: Path
    metadata: dict
    files: dict[str, int]
    tflite: dict[str, TFLiteResult] = field(default_factory=dict)
    onnx: Path | None = None

    @property
    def saved_model(self) -> Path:
        """The SavedModel folder."""
        return self.directory / SAVED_MODEL_DIR

    @property
    def keras_model(self) -> Path:
        """The `.keras` file."""
        return self.directory / KERAS_FILE

    @property
    def labels(self) -> Path:
        """`labels.txt`."""
        return self.directory / LABELS_FILE

    @property
    def total_bytes(self) -> int:
        """The folder's size."""
        return sum(self.files.values())


def export(
    model: keras.Model,
    directory: str | os.PathLike,
    *,
    class_names: Sequence[str],
    multi_label: bool = False,
    top_k: int = 5,
    config: Mapping | None = None,
    metrics: Mapping | None = None,
    overwrite: bool = False,
    tflite: Sequence[str] | str | bool = (),
    representative_data: Any = None,
    validation_data: Any = None,
    accelerator: str | Mapping | None = None,
    onnx: bool = False,
    resize_method: str = "bilinear",
) -> ExportResult:
    """Exports a classifier to a servable artifact folder, atomically.

    The folder is written next to `directory` under a temporary name and
    renamed into place only when complete, so a failed export never leaves a
    half-written folder, and never damages the artifact it would replace.

    The SavedModel (in `saved_model/`) has these signatures:

    - `serving_default`: `images`, a batch of encoded images (`tf.string`:
      JPEG, PNG, GIF, BMP or WebP), decoded and resized in the graph with the same
      `decode_image` as training.
    - `serving_pixels`: `pixels`, float32 RGB 0–255, shape (batch, height,
      width, 3); cast uint8 pixels to float32. Other sizes are resized
      (`resize_method`) to the model's input size in the graph.
    - `serving_tpu` (with `accelerator="tpu"`): like `serving_default` for a
      fixed batch size (see `accelerator`).

    Each returns `probabilities` (float32, batch × classes; a binary model's
    single sigmoid is expanded to two columns [1 - p, p]), and the top-k
    `class_ids` (int32), `class_names` (string) and `scores` (float32).

    Args:
        model: a trained classifier from `build_model` (input: RGB pixels 0–255).
        directory: the artifact folder to create.
        class_names: the classes in output order (`labels.txt`).
        multi_label: the model has independent sigmoid outputs.
        top_k: how many classes the top-k outputs hold (at most the number of classes).
        config: the training configuration, stored in `keras_transfer.json`.
        metrics: validation metrics, stored in `keras_transfer.json`.
        overwrite: replace an existing export at `directory`. The old folder is
            moved aside and deleted only after the new one is in place. Only a
            previous export (a folder holding `keras_transfer.json`) or an empty
            folder is ever replaced.
        tflite: TFLite variants to write into `tflite/`: any of `"float32"`,
            `"float16"`, `"dynamic_int8"` (int8 weights, float activations) and
            `"int8"` (full integer: uint8 pixel input, int8 inside, float32
            output; needs `representative_data`), or True for all four.
        representative_data: training images for int8 calibration: an array
            (N, H, W, 3), a `(images, labels)` tuple or a `tf.data.Dataset` of
            images or `(images, labels)` batches. At most
            `MAX_CALIBRATION_IMAGES` are used.
        validation_data: `(images, labels)` arrays or a `tf.data.Dataset` of
            `(images, labels)` batches; the TFLite/ONNX files are scored on it
            and compared with the Keras model.
        accelerator: `"tpu"` (or `{"type": "tpu", "batch_size": 8}`) adds the
            `serving_tpu` signature: a fixed batch size and image shape, whose
            model part is the XLA-compiled (`jit_compile=True`) function saved
            under the alias `"tpu_func"` (`SaveOptions(function_aliases=...)`),
            the name the Cloud TPU Inference Converter is given; decoding stays
            on the CPU.
        onnx: also write `model.onnx` (pixels → probabilities), with tf2onnx.
        resize_method: the `tf.image.resize` method the training pipeline
            used (keras_transfer's default is `"bilinear"`); serving resizes
            the same way.

    Returns:
        An `ExportResult`: the folder, its files and sizes, the metadata and
        the TFLite results.

    Raises:
        FileExistsError: `directory` exists and `overwrite` is False, or it is
            not a previous export.
        ValueError: class names that do not fit the model, a model with
            training-only layers, bad `tflite` variants, or int8 without
            `representative_data`.

    Example:
        >>> result = export(model, "exports/shapes", class_names=["circle", "square", "triangle"],
        ...                 tflite=["float32", "int8"], representative_data=x_train,
        ...                 validation_data=(x_val, y_val))
        >>> predictor = keras_transfer.inference.load("exports/shapes")
    """
    spec = serving_spec(model, class_names, multi_label, top_k, resize_method)
    check_inference_only(model)
    plan = _plan(spec, config, metrics, tflite, representative_data, validation_data, accelerator, onnx)
    target = Path(directory).expanduser().absolute()
    check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        result = _write_artifact(model, staging, spec, plan)
        commit_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _relocate(result, staging, target)


@dataclass
class _Plan:
    """Everything `export` was asked for besides the model, checked before anything is written."""

    config: Mapping
    metrics: Mapping
    variants: tuple[str, ...]
    calibration: np.ndarray | None
    validation: tuple[np.ndarray, np.ndarray] | None
    tpu_batch_size: int | None
    onnx: bool


def _plan(
    spec: ServingSpec,
    config: Mapping | None,
    metrics: Mapping | None,
    tflite: Sequence[str] | str | bool,
    representative_data: Any,
    validation_data: Any,
    accelerator: str | Mapping | None,
    onnx: bool,
) -> _Plan:
    """Validates the export options and loads the data, so mistakes fail before any file is written."""
    variants = resolve_tflite_variants(tflite)
    if "int8" in variants and representative_data is None:
        raise ValueError(
            "Full-integer TFLite (tflite='int8') needs representative_data: pass some training "
            "images (an array, (images, labels) or a tf.data.Dataset) for calibration."
        )
    tpu_batch_size = resolve_accelerator(accelerator)
    method = spec.resize_method
    if onnx:
        _require_tf2onnx()
    calibration = None
    if "int8" in variants:
        calibration = load_arrays(representative_data, spec.image_size, "representative_data", False, method)[0]
    validation = load_arrays(validation_data, spec.image_size, "validation_data", True, method)
    return _Plan(
        config=config or {},
        metrics=metrics or {},
        variants=variants,
        calibration=calibration,
        validation=validation,
        tpu_batch_size=tpu_batch_size,
        onnx=bool(onnx),
    )


def serving_spec(
    model: keras.Model,
    class_names: Sequence[str],
    multi_label: bool = False,
    top_k: int = 5,
    resize_method: str = "bilinear",
) -> ServingSpec:
    """Checks that `class_names` fit `model`'s output and gives the `ServingSpec`.

    Args:
        model: the classifier.
        class_names: the classes in output order.
        multi_label: independent sigmoid outputs.
        top_k: requested top-k (capped at the number of classes).
        resize_method: a `tf.image.resize` method.

    Returns:
        The `ServingSpec`.
    """
    names = tuple(str(name) for name in class_names)
    if not names or (len(names) < 2 and not multi_label):
        raise ValueError(f"class_names must list at least 2 classes (1 label for multi_label), got {list(names)}.")
    bad = [name for name in names if not name.strip() or "\n" in name or "\r" in name]
    if bad:
        raise ValueError(f"class_names must be non-empty single-line strings; fix {bad!r}.")
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"class_names has duplicates {duplicates}: each class needs a distinct name.")
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
    if resize_method not in RESIZE_METHODS:
        raise ValueError(f"Unknown resize_method {resize_method!r}: use one of {list(RESIZE_METHODS)}.")
    units = model.output_shape[-1]
    binary = not multi_label and len(names) == 2 and units == 1
    if units != len(names) and not binary:
        raise ValueError(
            f"The model has {units} output unit(s) but {len(names)} class_names were given: pass the "
            "class names in the order the model was trained on (a binary model has 1 sigmoid unit and 2 names)."
        )
    return ServingSpec(
        image_size=input_size(model),
        class_names=names,
        multi_label=multi_label,
        binary=binary,
        top_k=min(top_k, len(names)),
        resize_method=resize_method,
    )


def input_size(model: keras.Model) -> tuple[int, int]:
    """(height, width) of a model whose input is (batch, height, width, 3) pixels."""
    shape = model.input_shape
    if isinstance(shape, list):
        if len(shape) != 1:
            raise ValueError(f"export needs a model with one image input; this one has {len(shape)} inputs.")
        shape = shape[0]
    if len(shape) != 4 or shape[-1] != 3 or shape[1] is None or shape[2] is None:
        raise ValueError(
            f"export needs a fixed-size RGB image input (batch, height, width, 3); the model's input is {shape}. "
            "Build the model with an image_size."
        )
    return int(shape[1]), int(shape[2])


def check_inference_only(model: keras.Model) -> None:
    """Refuses a model that holds augmentation or other training-only layers.

    The served graph calls the model with `training=False`, where Dropout is
    an identity; augmentation belongs to the input pipeline, not to a model
    that is exported.

    Raises:
        ValueError: naming the training-only layers.
    """
    found = [
        f"{layer.name} ({type(layer).__name__})"
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if type(layer).__name__.startswith(_TRAINING_ONLY_PREFIXES)
    ]
    if found:
        raise ValueError(
            f"The model contains training-only layers {found}; an exported model must not augment its "
            "input. Apply augmentation in the data pipeline, or rebuild the model without these layers "
            "and copy the weights over before exporting."
        )


def resolve_tflite_variants(tflite: Sequence[str] | str | bool) -> tuple[str, ...]:
    """The TFLite variants to write, validated and without duplicates."""
    if tflite is True:
        return TFLITE_VARIANTS
    if not tflite:
        return ()
    requested = [tflite] if isinstance(tflite, str) else list(tflite)
    variants = []
    for name in requested:
        variant = _TFLITE_ALIASES.get(str(name).lower(), str(name).lower())
        if variant not in TFLITE_VARIANTS:
            raise ValueError(f"Unknown TFLite variant {name!r}: use some of {list(TFLITE_VARIANTS)} or tflite=True.")
        if variant not in variants:
            variants.append(variant)
    return tuple(variants)


def resolve_accelerator(accelerator: str | Mapping | None) -> int | None:
    """The static TPU batch size for `accelerator`, or None for no TPU signature."""
    if accelerator is None:
        return None
    options = {"type": accelerator} if isinstance(accelerator, str) else dict(accelerator)
    kind = str(options.pop("type", "")).lower()
    batch_size = options.pop("batch_size", DEFAULT_TPU_BATCH_SIZE)
    if kind != "tpu" or options:
        raise ValueError(
            f"Unsupported accelerator {accelerator!r}: use accelerator='tpu' or "
            "{'type': 'tpu', 'batch_size': 8}."
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"The TPU batch_size must be a positive integer, got {batch_size!r}.")
    return batch_size


def check_target(target: Path, overwrite: bool) -> None:
    """Refuses a target that exists (without `overwrite`) or that is not a previous export."""
    if not target.exists():
        return
    if not target.is_dir():
        raise FileExistsError(f"{target} exists and is a file, not an export folder: choose another directory.")
    is_export = (target / METADATA_FILE).is_file()
    is_empty = not any(target.iterdir())
    if not overwrite and not is_empty:
        raise FileExistsError(
            f"The export folder {target} already exists: pass overwrite=True to replace it, "
            "or export to another directory."
        )
    if not (is_export or is_empty):
        raise FileExistsError(
            f"{target} exists and is not a keras_transfer export (no {METADATA_FILE}); refusing to replace it, "
            "even with overwrite=True. Choose a new or empty directory."
        )


def commit_directory(staging: Path, target: Path) -> None:
    """Moves the finished `staging` folder to `target`, replacing an existing one safely.

    An existing `target` is first renamed aside; if the new folder cannot be
    moved in, the old one is put back. The old folder is deleted only once the
    new one is in place.
    """
    if not target.exists():
        _rename(staging, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()
    _rename(target, backup)
    try:
        _rename(staging, target)
    except BaseException:
        _rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _rename(source: Path, destination: Path) -> None:
    """Renames a folder (atomic within one filesystem)."""
    os.replace(source, destination)


def _relocate(result: ExportResult, staging: Path, target: Path) -> ExportResult:
    """`result` with its paths moved from the staging folder to the target."""
    result.directory = target
    for item in result.tflite.values():
        item.path = target / item.path.relative_to(staging)
    if result.onnx is not None:
        result.onnx = target / result.onnx.relative_to(staging)
    return result


def _write_artifact(model: keras.Model, folder: Path, spec: ServingSpec, plan: _Plan) -> ExportResult:
    """Writes every file of the artifact into `folder` and returns the result."""
    write_labels(folder / LABELS_FILE, spec.class_names)
    module = build_serving_module(model, spec, tpu_batch_size=plan.tpu_batch_size, labels_file=folder / LABELS_FILE)
    save_serving_module(module, folder / SAVED_MODEL_DIR, spec)
    probe = plan.validation[0][:8] if plan.validation is not None else _probe_pixels(spec.image_size)
    parity = verify_saved_model(folder / SAVED_MODEL_DIR, model, spec, probe)
    model.save(folder / KERAS_FILE)
    reference = None
    if plan.validation is not None:
        reference = probabilities_from_model(model, plan.validation[0], spec.binary)
    pixel_function = probability_function(model, spec) if plan.variants or plan.onnx else None
    tflite_results = _write_tflite_files(folder, pixel_function, spec, plan, reference)
    onnx_info = None
    if plan.onnx:
        onnx_info = write_onnx(pixel_function, folder / ONNX_FILE, spec, plan.validation, reference)
    metadata = build_metadata(
        model, spec, config=plan.config, metrics=plan.metrics, parity=parity, tflite=tflite_results,
        onnx=onnx_info, tpu_batch_size=plan.tpu_batch_size,
        keras_accuracy=accuracy(reference, plan.validation[1], spec) if reference is not None else None,
    )
    files = write_metadata(folder, metadata)
    return ExportResult(
        directory=folder,
        metadata=metadata,
        files=files,
        tflite=tflite_results,
        onnx=folder / ONNX_FILE if plan.onnx else None,
    )


def _write_tflite_files(
    folder: Path, pixel_function: Any, spec: ServingSpec, plan: _Plan, reference: np.ndarray | None
) -> dict[str, TFLiteResult]:
    """Writes `tflite/` (the variants and labels.txt), scoring each file on the validation data."""
    results = {}
    if not plan.variants:
        return results
    (folder / TFLITE_DIR).mkdir()
    write_labels(folder / TFLITE_DIR / LABELS_FILE, spec.class_names)
    source = tflite_source(pixel_function, spec)
    for variant in plan.variants:
        path = folder / TFLITE_DIR / f"model_{variant}.tflite"
        results[variant] = write_tflite(source, path, variant, plan.calibration)
        if plan.validation is not None:
            _score(results[variant], plan.validation, reference, spec)
    return results


def write_labels(path: Path, class_names: Sequence[str]) -> None:
    """Writes one class name per line."""
    path.write_text("\n".join(class_names) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- serving graph


def to_probabilities(outputs: tf.Tensor, binary: bool) -> tf.Tensor:
    """The model's outputs as float32 probabilities; one binary sigmoid becomes [1 - p, p]."""
    outputs = tf.cast(outputs, tf.float32)
    if binary:
        return tf.concat([1.0 - outputs, outputs], axis=-1)
    return outputs


def top_k_outputs(probabilities: tf.Tensor, spec: ServingSpec) -> dict[str, tf.Tensor]:
    """The serving outputs: probabilities plus top-k class ids, names and scores."""
    scores, ids = tf.math.top_k(probabilities, k=spec.top_k, sorted=True)
    names = tf.gather(tf.constant(list(spec.class_names), dtype=tf.string), ids)
    return {
        "probabilities": probabilities,
        "class_ids": tf.cast(ids, tf.int32),
        "class_names": names,
        "scores": scores,
    }


def decode_images(images: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Decodes a batch of encoded images with `decode_image`, to float32 (batch, height, width, 3)."""
    return tf.map_fn(
        lambda encoded: decode_image(encoded, image_size, method),
        images,
        fn_output_signature=tf.TensorSpec((*image_size, 3), tf.float32),
    )


def fit_pixels(pixels: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Float32 pixels of `image_size`: left as they are when the size matches, else resized like training."""
    pixels = tf.cast(pixels, tf.float32)
    shape = tf.shape(pixels)
    same_size = tf.logical_and(tf.equal(shape[1], image_size[0]), tf.equal(shape[2], image_size[1]))
    fitted = tf.cond(same_size, lambda: pixels, lambda: resize_pixels(pixels, image_size, method))
    return tf.ensure_shape(fitted, [None, *image_size, 3])


def build_serving_module(
    model: keras.Model,
    spec: ServingSpec,
    *,
    tpu_batch_size: int | None = None,
    labels_file: Path | None = None,
) -> tf.Module:
    """A `tf.Module` with the serving functions, ready for `tf.saved_model.save`.

    The module tracks only the variables its functions capture (like
    `keras.export.ExportArchive`), not the Keras objects, so the SavedModel
    loads without Keras, and with TF1-style session loaders such as TF Serving.

    Args:
        model: the classifier.
        spec: its `ServingSpec`.
        tpu_batch_size: add the TPU functions for this static batch size.
        labels_file: `labels.txt`, stored as a SavedModel asset.

    Returns:
        A module with `serve_images` and `serve_pixels` and, for TPU,
        `tpu_func` and `serve_tpu`.
    """
    module = tf.Module(name="keras_transfer_serving")
    if labels_file is not None:
        module.labels = tf.saved_model.Asset(str(labels_file))

    def compute(pixels):
        return to_probabilities(model(pixels, training=False), spec.binary)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def serve_images(images):
        return top_k_outputs(compute(decode_images(images, spec.image_size, spec.resize_method)), spec)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="pixels")])
    def serve_pixels(pixels):
        return top_k_outputs(compute(fit_pixels(pixels, spec.image_size, spec.resize_method)), spec)

    module.serve_images = serve_images
    module.serve_pixels = serve_pixels
    functions = [serve_images, serve_pixels]
    if tpu_batch_size:
        functions += _add_tpu_functions(module, compute, spec, tpu_batch_size)
    module.captured_variables = captured_variables(functions)
    return module


def captured_variables(functions: Sequence[Any]) -> list[tf.Variable]:
    """The TensorFlow variables the functions' graphs read, each once.

    Tracking these (rather than the Keras variables that wrap them) writes
    them into the SavedModel's checkpoint under the names the graphs use,
    which TF1-style loaders (TF Serving, `saved_model_cli run`) need.
    """
    found = {}
    for function in functions:
        for variable in function.get_concrete_function().variables:
            found.setdefault(id(variable), variable)
    return list(found.values())


def probability_function(model: keras.Model, spec: ServingSpec) -> Any:
    """A `tf.function`: float32 pixels (batch, height, width, 3) → `{"probabilities": ...}`, for TFLite and ONNX."""
    height, width = spec.image_size

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")])
    def probabilities(pixels):
        return {"probabilities": to_probabilities(model(pixels, training=False), spec.binary)}

    return probabilities


def _add_tpu_functions(module: tf.Module, compute: Callable, spec: ServingSpec, batch_size: int) -> list:
    """Adds `tpu_func` (static shape, XLA-compiled model) and `serve_tpu` (CPU decoding → `tpu_func`)."""
    height, width = spec.image_size

    @tf.function(
        input_signature=[tf.TensorSpec([batch_size, height, width, 3], tf.float32, name="pixels")],
        jit_compile=True,
    )
    def tpu_func(pixels):
        return compute(pixels)

    @tf.function(input_signature=[tf.TensorSpec([batch_size], tf.string, name="images")])
    def serve_tpu(images):
        pixels = decode_images(images, spec.image_size, spec.resize_method)
        pixels = tf.ensure_shape(pixels, [batch_size, height, width, 3])
        return top_k_outputs(tpu_func(pixels), spec)

    module.tpu_func = tpu_func
    module.serve_tpu = serve_tpu
    return [tpu_func, serve_tpu]


def save_serving_module(module: tf.Module, path: Path, spec: ServingSpec) -> None:
    """Saves the module as a SavedModel with the serving signatures (and TPU options when present)."""
    signatures = {
        SERVING_IMAGES: module.serve_images.get_concrete_function(),
        SERVING_PIXELS: module.serve_pixels.get_concrete_function(),
    }
    options = None
    if hasattr(module, "tpu_func"):
        signatures[SERVING_TPU] = module.serve_tpu.get_concrete_function()
        # The alias lets TPU converters find the function to place on the TPU;
        # experimental_io_device keeps variable I/O on the host when saving from a TPU worker.
        options = tf.saved_model.SaveOptions(
            function_aliases={TPU_FUNCTION_ALIAS: module.tpu_func},
            experimental_io_device="/job:localhost",
        )
    tf.saved_model.save(module, str(path), signatures=signatures, options=options)


def verify_saved_model(path: Path, model: keras.Model, spec: ServingSpec, pixels: np.ndarray) -> dict:
    """Reloads the SavedModel and checks both signatures against the in-memory model.

    The pixels are fed to `serving_pixels` as they are and to `serving_default`
    as lossless PNGs.

    Returns:
        `{"max_abs_diff": ...}` over both signatures.

    Raises:
        RuntimeError: when they differ by more than `PARITY_TOLERANCE`.
    """
    loaded = tf.saved_model.load(str(path))
    pixels = np.clip(np.round(pixels), 0, 255).astype(np.float32)
    expected = probabilities_from_model(model, pixels, spec.binary)
    from_pixels = loaded.signatures[SERVING_PIXELS](pixels=tf.constant(pixels))["probabilities"].numpy()
    encoded = tf.stack([tf.io.encode_png(tf.constant(image, tf.uint8)) for image in pixels.astype(np.uint8)])
    from_images = loaded.signatures[SERVING_IMAGES](images=encoded)["probabilities"].numpy()
    diff = float(max(np.abs(from_pixels - expected).max(), np.abs(from_images - expected).max()))
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(
            f"The exported SavedModel disagrees with the in-memory model by {diff:.2e} "
            f"(tolerance {PARITY_TOLERANCE:.0e}); the export was not written. Please report this "
            "with the model's backbone and Keras/TensorFlow versions."
        )
    return {"max_abs_diff": diff, "images_checked": len(pixels)}


def probabilities_from_model(model: keras.Model, pixels: np.ndarray, binary: bool, batch_size: int = 64) -> np.ndarray:
    """The in-memory model's probabilities (binary expanded to two columns) for float pixels."""
    outputs = [
        to_probabilities(model(pixels[start : start + batch_size], training=False), binary).numpy()
        for start in range(0, len(pixels), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)


def _probe_pixels(image_size: tuple[int, int], count: int = 4) -> np.ndarray:
    """Seeded random pixels, for the parity check when there is no validation data."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(count, *image_size, 3)).astype(np.float32)


# --------------------------------------------------------------------------- data


def load_arrays(
    data: Any, image_size: tuple[int, int], name: str, need_labels: bool = False, method: str = "bilinear"
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Turns arrays, `(images, labels)` or a `tf.data.Dataset` into float32 pixels of `image_size` (+ labels).

    Args:
        data: an image array (N, H, W, 3), an `(images, labels)` tuple, or a
            `tf.data.Dataset` of image batches or `(images, labels)` batches;
            None gives None.
        image_size: (height, width) to resize to.
        name: the argument's name, for error messages.
        need_labels: labels are required.
        method: the `tf.image.resize` method for images of another size.

    Returns:
        `(pixels float32 (N, h, w, 3), labels or None)`, or None for None.
    """
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        images, labels = _dataset_arrays(data, name)
    elif isinstance(data, (tuple, list)) and len(data) == 2 and not _is_image_array(data):
        images, labels = np.asarray(data[0]), np.asarray(data[1])
    else:
        images, labels = np.asarray(data), None
    if images.ndim == 3 and images.shape[-1] in (1, 3, 4):
        images = images[None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or not len(images):
        raise ValueError(
            f"{name} must hold RGB images shaped (N, height, width, 3); got shape {images.shape}. "
            "File paths and encoded images are not accepted here: decode them first."
        )
    if need_labels and labels is None:
        raise ValueError(f"{name} needs labels: pass (images, labels) or a dataset of (images, labels) batches.")
    pixels = resize_pixels(images, image_size, method).numpy().astype(np.float32)
    return pixels, labels


def _is_image_array(data: Sequence) -> bool:
    """True for a two-image list (rather than an (images, labels) pair)."""
    shapes = [np.shape(item) for item in data]
    return shapes[0] == shapes[1] and len(shapes[0]) == 3


def _dataset_arrays(dataset: tf.data.Dataset, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Collects a dataset of image batches or (images, labels) batches into arrays."""
    images, labels = [], []
    for element in dataset.as_numpy_iterator():
        if isinstance(element, tuple):
            images.append(element[0])
            labels.append(element[1])
        else:
            images.append(element)
    if not images:
        raise ValueError(f"{name} is an empty dataset.")
    if images[0].ndim == 3:
        images = [image[None] for image in images]
        labels = [np.asarray(label)[None] for label in labels]
    return np.concatenate(images), (np.concatenate(labels) if labels else None)


def label_indices(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer class indices from integer labels or one-hot rows."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes and num_classes > 1:
        return labels.argmax(axis=1)
    return labels.reshape(len(labels)).astype(np.int64)


def accuracy(probabilities: np.ndarray, labels: np.ndarray, spec: ServingSpec) -> float:
    """Top-1 accuracy, or per-label accuracy at 0.5 for multi-label."""
    if spec.multi_label:
        truth = np.asarray(labels).reshape(probabilities.shape) > 0.5
        return float(np.mean((probabilities > 0.5) == truth))
    return float(np.mean(probabilities.argmax(axis=1) == label_indices(labels, len(spec.class_names))))


# --------------------------------------------------------------------------- TFLite / ONNX


def write_tflite(
    source: tuple[tf.Module, Any], path: Path, variant: str, calibration: np.ndarray | None
) -> TFLiteResult:
    """Converts the pixels → probabilities function to TFLite and writes `path`.

    The file's `serving_default` signature takes `pixels` (batch × height ×
    width × 3, RGB 0–255: float32, or uint8 for `"int8"`) and returns float32
    `probabilities`.

    Args:
        source: from `tflite_source`.
        path: the `.tflite` file to write.
        variant: one of `TFLITE_VARIANTS`.
        calibration: float32 pixels for `"int8"` calibration.

    Returns:
        The `TFLiteResult` (not yet scored).
    """
    holder, concrete = source
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)
    input_dtype = "float32"
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        converter.representative_dataset = _representative_dataset(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
        input_dtype = "uint8"
    path.write_bytes(converter.convert())
    return TFLiteResult(variant=variant, path=path, size_bytes=path.stat().st_size, input_dtype=input_dtype)


def tflite_source(function: Any, spec: ServingSpec) -> tuple[tf.Module, Any]:
    """The function TFLite converts: pixels → `{"probabilities"}`, with the variables folded into constants.

    Freezing keeps resource-variable reads out of the TFLite graph (with them,
    full-integer calibration cannot run the model). The frozen graph is
    wrapped again so the TFLite signature keeps the names `pixels` and
    `probabilities`.

    Args:
        function: from `probability_function`.
        spec: the `ServingSpec`.

    Returns:
        `(holder, concrete_function)` for `TFLiteConverter.from_concrete_functions`.
    """
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    height, width = spec.image_size

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")])
    def probabilities(pixels):
        return {"probabilities": frozen(pixels)[0]}

    holder = tf.Module(name="keras_transfer_tflite")
    holder.probabilities = probabilities
    return holder, probabilities.get_concrete_function()


def _representative_dataset(pixels: np.ndarray) -> Callable:
    """A calibration generator over at most `MAX_CALIBRATION_IMAGES` images, one per step."""
    chosen = pixels[:MAX_CALIBRATION_IMAGES]

    def generate():
        for image in chosen:
            yield [image[None].astype(np.float32)]

    return generate


def _score(result: TFLiteResult, validation: tuple, reference: np.ndarray, spec: ServingSpec) -> None:
    """Adds accuracy, top-1 agreement and max difference to the Keras model, from the TFLite file."""
    probabilities = run_tflite(result.path, validation[0])
    result.accuracy = accuracy(probabilities, validation[1], spec)
    result.agreement = float(np.mean(probabilities.argmax(axis=1) == reference.argmax(axis=1)))
    result.max_abs_diff = float(np.abs(probabilities - reference).max())


def write_onnx(
    function: Any,
    path: Path,
    spec: ServingSpec,
    validation: tuple | None,
    reference: np.ndarray | None,
) -> dict:
    """Converts the pixels → probabilities function to ONNX with tf2onnx and writes `path`.

    The ONNX model takes `pixels` (float32, batch × height × width × 3, RGB
    0–255) and returns `probabilities`. With onnxruntime installed and
    validation data given, it is scored like the TFLite files.

    Args:
        function: from `probability_function`.
        path: the `.onnx` file to write.
        spec: the `ServingSpec`.
        validation: `(pixels, labels)` or None.
        reference: the Keras model's probabilities on the validation pixels.

    Returns:
        `{"file", "size_bytes", "opset", "accuracy", "agreement_with_keras", "max_abs_diff_vs_keras"}`.
    """
    tf2onnx = _require_tf2onnx()
    _patch_tf2onnx_for_numpy2()
    height, width = spec.image_size
    signature = [tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")]
    opset = 17
    with _quiet_tf2onnx():
        tf2onnx.convert.from_function(function, input_signature=signature, opset=opset, output_path=str(path))
    info = {"file": path.name, "size_bytes": path.stat().st_size, "opset": opset}
    if validation is not None and reference is not None:
        probabilities = _run_onnx(path, validation[0])
        if probabilities is not None:
            info["accuracy"] = accuracy(probabilities, validation[1], spec)
            info["agreement_with_keras"] = float(np.mean(probabilities.argmax(1) == reference.argmax(1)))
            info["max_abs_diff_vs_keras"] = float(np.abs(probabilities - reference).max())
    return info


def _require_tf2onnx() -> Any:
    """The tf2onnx module, or an ImportError that says how to install it."""
    try:
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "onnx=True needs tf2onnx: pip install 'keras-transfer[onnx]' (tf2onnx and onnxruntime)."
        ) from error
    return tf2onnx


def _patch_tf2onnx_for_numpy2() -> None:
    """Applies Keras' compatibility patch for tf2onnx under NumPy 2, when Keras has it."""
    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()


@contextlib.contextmanager
def _quiet_tf2onnx():
    """Silences tf2onnx's per-optimizer tracebacks (it logs failed optional rewrites and goes on)."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _run_onnx(path: Path, pixels: np.ndarray) -> np.ndarray | None:
    """ONNX Runtime's probabilities, or None without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"pixels": pixels.astype(np.float32)})[0]


# --------------------------------------------------------------------------- metadata


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
    """The contents of `keras_transfer.json` (without the file list)."""
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
        "training_config": _jsonable(config or {}),
        "validation_metrics": _jsonable(metrics or {}),
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
    """How images become model inputs, for `keras_transfer.json`."""
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
    """Versions of keras_transfer, TensorFlow, Keras, NumPy and Python."""
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
    """
    files = list_files(folder)
    metadata["files"] = [{"path": name, "size_bytes": size} for name, size in files.items()]
    path = folder / METADATA_FILE
    path.write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return {**files, METADATA_FILE: path.stat().st_size}


def list_files(folder: Path) -> dict[str, int]:
    """Every file under `folder`: relative POSIX path → size in bytes, sorted."""
    return {
        path.relative_to(folder).as_posix(): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _jsonable(value: Any) -> Any:
    """`value` with NumPy scalars/arrays, paths, sets and other objects made JSON-serialisable."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return [_jsonable(item) for item in value]
    return str(value)
