"""TFLite files: the variants, the conversion, full-integer calibration, and scoring each file.

Variants (`TFLITE_VARIANTS`): `"float32"`, `"float16"` (float16 weights),
`"dynamic_int8"` (int8 weights, float activations) and `"int8"` (full
integer: uint8 pixel input, int8 inside, float32 output; calibrated on
representative images). Every file's `serving_default` signature takes
`pixels` and returns float32 `probabilities`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from keras_transfer.serving.inference import run_tflite
from keras_transfer.serving.scoring import compare_with_keras
from keras_transfer.serving.spec import ServingSpec

TFLITE_DIR = "tflite"
TFLITE_VARIANTS = ("float32", "float16", "dynamic_int8", "int8")
_TFLITE_ALIASES = {
    "fp32": "float32",
    "fp16": "float16",
    "dynamic": "dynamic_int8",
    "dynamic_range": "dynamic_int8",
    "full_int8": "int8",
    "integer": "int8",
}
# Full-integer calibration looks at this many representative images at most.
MAX_CALIBRATION_IMAGES = 200


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

    Example:
        >>> result = export(model, "exports/shapes", class_names=names, tflite="int8",
        ...                 representative_data=x_train).tflite["int8"]
        >>> result.input_dtype, result.size_bytes
        ('uint8', 1083200)
    """

    variant: str
    path: Path
    size_bytes: int
    input_dtype: str
    accuracy: float | None = None
    agreement: float | None = None
    max_abs_diff: float | None = None

    def to_dict(self) -> dict:
        """A JSON-friendly dict (the path relative to the export folder).

        Returns:
            `{"variant", "file", "size_bytes", "input_dtype", "accuracy",
            "agreement_with_keras", "max_abs_diff_vs_keras"}`.

        Example:
            >>> result.to_dict()["file"]
            'tflite/model_int8.tflite'
        """
        return {
            "variant": self.variant,
            "file": f"{TFLITE_DIR}/{self.path.name}",
            "size_bytes": self.size_bytes,
            "input_dtype": self.input_dtype,
            "accuracy": self.accuracy,
            "agreement_with_keras": self.agreement,
            "max_abs_diff_vs_keras": self.max_abs_diff,
        }


def resolve_tflite_variants(tflite: Sequence[str] | str | bool) -> tuple[str, ...]:
    """The TFLite variants to write, validated and without duplicates.

    Args:
        tflite: True (every variant), a falsy value (none), one variant name or
            several; aliases such as `"fp16"`, `"dynamic"` and `"full_int8"` are accepted.

    Returns:
        The variants, in the order asked, each once.

    Raises:
        ValueError: an unknown variant.

    Example:
        >>> resolve_tflite_variants(["int8", "full_int8", "dynamic"])
        ('int8', 'dynamic_int8')
    """
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


def write_tflite_files(
    folder: Path,
    function: Any,
    spec: ServingSpec,
    variants: Sequence[str],
    calibration: np.ndarray | None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    reference: np.ndarray | None = None,
) -> dict[str, TFLiteResult]:
    """Writes `model_<variant>.tflite` into `folder` for each variant, scoring each file on the validation data.

    Args:
        folder: an existing folder (the export's `tflite/`).
        function: from `probability_function`.
        spec: the `ServingSpec`.
        variants: from `resolve_tflite_variants`.
        calibration: float32 pixels for `"int8"` calibration.
        validation: `(pixels, labels)`, or None to leave the files unscored.
        reference: the Keras model's probabilities on the validation pixels.

    Returns:
        The `TFLiteResult`s, by variant.

    Example:
        >>> results = write_tflite_files(Path("out/tflite"), probability_function(model, spec), spec,
        ...                              ("float32", "int8"), calibration=x_train.astype("float32"))
    """
    source = tflite_source(function, spec)
    results = {}
    for variant in variants:
        results[variant] = write_tflite(source, folder / f"model_{variant}.tflite", variant, calibration)
        if validation is not None:
            score_tflite(results[variant], validation, reference, spec)
    return results


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

    Example:
        >>> holder, concrete = tflite_source(probability_function(model, spec), spec)
    """
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    height, width = spec.image_size

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")])
    def probabilities(pixels):
        return {"probabilities": frozen(pixels)[0]}

    holder = tf.Module(name="keras_transfer_tflite")
    holder.probabilities = probabilities
    return holder, probabilities.get_concrete_function()


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

    Example:
        >>> write_tflite(tflite_source(function, spec), Path("out/model_float16.tflite"), "float16", None)
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


def score_tflite(result: TFLiteResult, validation: tuple, reference: np.ndarray, spec: ServingSpec) -> None:
    """Runs the TFLite file on the validation pixels and fills in its accuracy and agreement with Keras.

    Args:
        result: the file's `TFLiteResult`, updated in place.
        validation: `(pixels, labels)`.
        reference: the Keras model's probabilities on the same pixels.
        spec: the `ServingSpec`.

    Returns:
        None; `result.accuracy`, `.agreement` and `.max_abs_diff` are set.

    Example:
        >>> score_tflite(result, (x_val, y_val), probabilities_from_model(model, x_val, False), spec)
    """
    scores = compare_with_keras(run_tflite(result.path, validation[0]), validation, reference, spec)
    result.accuracy = scores["accuracy"]
    result.agreement = scores["agreement_with_keras"]
    result.max_abs_diff = scores["max_abs_diff_vs_keras"]


def _representative_dataset(pixels: np.ndarray) -> Callable:
    """A calibration generator over at most `MAX_CALIBRATION_IMAGES` images, one per step."""
    chosen = pixels[:MAX_CALIBRATION_IMAGES]

    def generate():
        for image in chosen:
            yield [image[None].astype(np.float32)]

    return generate
