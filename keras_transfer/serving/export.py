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

This module checks the options, then runs the writers in order; each part
lives in its own module of `keras_transfer.serving`:

- `spec`: the class names and input size checked against the model (`ServingSpec`);
- `arrays`: `validation_data` / `representative_data` as pixel arrays;
- `savedmodel`: the serving graph, its signatures, the TPU functions, the parity check;
- `tflite`, `onnx`: the optional converted files; `scoring`: how they are checked;
- `metadata`: `keras_transfer.json` and `labels.txt`;
- `atomic`: the write-aside-then-rename folder commit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_transfer.peft.lora import merge_lora
from keras_transfer.serving.arrays import load_arrays
from keras_transfer.serving.atomic import atomic_directory, check_target, commit_directory, relocate
from keras_transfer.serving.inference import (
    LABELS_FILE,
    METADATA_FILE,
    SAVED_MODEL_DIR,
    SERVING_IMAGES,
    SERVING_PIXELS,
    SUPPORTED_FORMAT_VERSION,
    run_tflite,
)
from keras_transfer.serving.metadata import (
    FORMAT_VERSION,
    build_metadata,
    list_files,
    preprocessing_description,
    versions,
    write_labels,
    write_metadata,
)
from keras_transfer.serving.onnx import ONNX_FILE, require_tf2onnx, write_onnx
from keras_transfer.serving.remote import is_remote, upload_folder
from keras_transfer.serving.savedmodel import (
    DEFAULT_TPU_BATCH_SIZE,
    PARITY_TOLERANCE,
    SERVING_TPU,
    TPU_FUNCTION_ALIAS,
    build_serving_module,
    captured_variables,
    decode_images,
    fit_pixels,
    probabilities_from_model,
    probability_function,
    probe_pixels,
    resolve_accelerator,
    save_serving_module,
    to_probabilities,
    top_k_outputs,
    verify_saved_model,
)
from keras_transfer.serving.scoring import accuracy, label_indices
from keras_transfer.serving.spec import RESIZE_METHODS, ServingSpec, check_inference_only, input_size, serving_spec
from keras_transfer.serving.tflite import (
    MAX_CALIBRATION_IMAGES,
    TFLITE_DIR,
    TFLITE_VARIANTS,
    TFLiteResult,
    resolve_tflite_variants,
    tflite_source,
    write_tflite,
    write_tflite_files,
)

# This module's own names, and the ones it had before it was split: `keras_transfer.exporter` (the
# pre-0.2 path) and callers import them from here.
__all__ = [
    "DEFAULT_TPU_BATCH_SIZE",
    "FORMAT_VERSION",
    "KERAS_FILE",
    "LABELS_FILE",
    "MAX_CALIBRATION_IMAGES",
    "METADATA_FILE",
    "ONNX_FILE",
    "PARITY_TOLERANCE",
    "RESIZE_METHODS",
    "SAVED_MODEL_DIR",
    "SERVING_IMAGES",
    "SERVING_PIXELS",
    "SERVING_TPU",
    "SUPPORTED_FORMAT_VERSION",
    "TFLITE_DIR",
    "TFLITE_VARIANTS",
    "TPU_FUNCTION_ALIAS",
    "ExportResult",
    "ServingSpec",
    "TFLiteResult",
    "accuracy",
    "build_metadata",
    "build_serving_module",
    "captured_variables",
    "check_inference_only",
    "check_target",
    "commit_directory",
    "decode_images",
    "export",
    "fit_pixels",
    "input_size",
    "label_indices",
    "list_files",
    "load_arrays",
    "preprocessing_description",
    "probabilities_from_model",
    "probability_function",
    "resolve_accelerator",
    "resolve_tflite_variants",
    "run_tflite",
    "save_serving_module",
    "serving_spec",
    "tflite_source",
    "to_probabilities",
    "top_k_outputs",
    "verify_saved_model",
    "versions",
    "write_labels",
    "write_metadata",
    "write_onnx",
    "write_tflite",
]

KERAS_FILE = "model.keras"


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

    Example:
        >>> result = export(model, "exports/shapes", class_names=["circle", "square", "triangle"])
        >>> result.saved_model, result.total_bytes
        (PosixPath('/home/me/exports/shapes/saved_model'), 9211904)
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
        the TFLite results. A bucket path (`gs://...`) is written here first,
        then copied with `EXPORT_COMPLETE` last (`serving.remote`); the
        result's `directory` is then that path.

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
    model = merge_lora(model)  # LoRA adapters merged into the kernels: no extra serving cost
    spec = serving_spec(model, class_names, multi_label, top_k, resize_method)
    check_inference_only(model)
    plan = _plan(spec, config, metrics, tflite, representative_data, validation_data, accelerator, onnx)
    if is_remote(directory):  # a bucket: staged here, copied, marked complete last (no atomic rename there)
        with tempfile.TemporaryDirectory(prefix="keras_transfer_export_") as local:
            with atomic_directory(Path(local) / "export") as staging:
                result = _write_artifact(model, staging, spec, plan)
            upload_folder(Path(local) / "export", os.fspath(directory), overwrite)
        result.directory = os.fspath(directory)
        return result
    target = Path(directory).expanduser().absolute()
    check_target(target, overwrite)
    with atomic_directory(target) as staging:
        result = _write_artifact(model, staging, spec, plan)
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
        require_tf2onnx()
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


def _write_artifact(model: keras.Model, folder: Path, spec: ServingSpec, plan: _Plan) -> ExportResult:
    """Writes every file of the artifact into `folder` and returns the result."""
    write_labels(folder / LABELS_FILE, spec.class_names)
    module = build_serving_module(model, spec, tpu_batch_size=plan.tpu_batch_size, labels_file=folder / LABELS_FILE)
    save_serving_module(module, folder / SAVED_MODEL_DIR, spec)
    probe = plan.validation[0][:8] if plan.validation is not None else probe_pixels(spec.image_size)
    parity = verify_saved_model(folder / SAVED_MODEL_DIR, model, spec, probe)
    model.save(folder / KERAS_FILE)
    reference = None
    if plan.validation is not None:
        reference = probabilities_from_model(model, plan.validation[0], spec.binary)
    pixel_function = probability_function(model, spec) if plan.variants or plan.onnx else None
    tflite_results = _write_tflite_folder(folder, pixel_function, spec, plan, reference)
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


def _write_tflite_folder(
    folder: Path, pixel_function: Any, spec: ServingSpec, plan: _Plan, reference: np.ndarray | None
) -> dict[str, TFLiteResult]:
    """Writes `tflite/` (the variants and labels.txt), scoring each file on the validation data."""
    if not plan.variants:
        return {}
    (folder / TFLITE_DIR).mkdir()
    write_labels(folder / TFLITE_DIR / LABELS_FILE, spec.class_names)
    return write_tflite_files(
        folder / TFLITE_DIR, pixel_function, spec, plan.variants, plan.calibration, plan.validation, reference
    )


def _relocate(result: ExportResult, staging: Path, target: Path) -> ExportResult:
    """`result` with its paths moved from the staging folder to the target."""
    result.directory = target
    for item in result.tflite.values():
        item.path = relocate(item.path, staging, target)
    if result.onnx is not None:
        result.onnx = relocate(result.onnx, staging, target)
    return result
