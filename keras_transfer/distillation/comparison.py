"""Teacher against student: accuracy, parameters, CPU latency at batch 1 and 32, and TFLite file size."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.distillation.teacher import Teacher

LATENCY_BATCHES = (1, 32)
# profile key -> ratio name (student / teacher)
RATIOS = (("latency_ms_batch_1", "latency_batch_1"), ("latency_ms_batch_32", "latency_batch_32"),
          ("tflite_latency_ms_batch_1", "tflite_latency_batch_1"),
          ("tflite_latency_ms_batch_32", "tflite_latency_batch_32"),
          ("parameters", "parameters"), ("tflite_bytes", "tflite_bytes"))


def teacher_scores(teacher: Teacher, dataset: tf.data.Dataset | None) -> dict[str, float]:
    """The teacher's accuracy on labelled batches (any teacher kind: it reads the logits).

    Args:
        teacher: the `Teacher`.
        dataset: `(pixels, one-hot labels)` batches, or None.

    Returns:
        `{"accuracy": ...}`, or {} without data.
    """
    if dataset is None:
        return {}
    right = total = 0
    for images, labels in dataset:
        predicted = np.argmax(teacher.logits_of(images).numpy(), axis=-1)
        right += int(np.sum(predicted == np.argmax(labels.numpy(), axis=-1)))
        total += len(predicted)
    return {"accuracy": right / max(total, 1)}


def latency_ms(model: keras.Model, image_size: Sequence[int], batch_size: int, calls: int = 10,
               warmup: int = 2) -> float:
    """Median wall milliseconds of one compiled forward pass on CPU.

    Args:
        model: a classifier (pixels in).
        image_size: (height, width) of the input.
        batch_size: images per call.
        calls: timed calls (the median is returned).
        warmup: untimed calls first (tracing).

    Returns:
        Milliseconds per call.

    Example:
        >>> latency_ms(result.model, (96, 96), 32)
    """
    forward = tf.function(lambda pixels: model(pixels, training=False), reduce_retracing=True)
    pixels = tf.random.uniform((batch_size, *image_size, 3), 0, 255, seed=0)
    for _ in range(warmup):
        forward(pixels).numpy()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        forward(pixels).numpy()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def tflite_profile(model: keras.Model, class_names: Sequence[str], image_size: Sequence[int],
                   variant: str = "float32", calls: int = 10) -> dict[str, Any]:
    """The model as a TFLite file (the export's own converter): its size and its CPU latency at batch 1 and 32.

    The latency is the TFLite interpreter's (XNNPACK), what a CPU
    or mobile deployment of a small student runs; it differs from the
    TensorFlow graph's, where a network of many small ops (MobileNetV3's
    squeeze-excite and hard-swish) pays per-op overhead at batch 1.

    Args:
        model: a classifier (pixels in).
        class_names: its classes.
        image_size: (height, width) of the input.
        variant: the TFLite variant ("float32", "float16", "dynamic").
        calls: timed invocations per batch size (the median is kept).

    Returns:
        `{"tflite_bytes", "tflite_latency_ms_batch_1", "tflite_latency_ms_batch_32"}`.

    Example:
        >>> tflite_profile(result.model, result.class_names, (96, 96))["tflite_latency_ms_batch_1"]
    """
    from keras_transfer.serving.savedmodel import probability_function
    from keras_transfer.serving.spec import serving_spec
    from keras_transfer.serving.tflite import tflite_source, write_tflite

    spec = serving_spec(model, list(class_names))
    with tempfile.TemporaryDirectory(prefix="keras_transfer_tflite_") as folder:
        written = write_tflite(tflite_source(probability_function(model, spec), spec),
                               Path(folder) / f"model_{variant}.tflite", variant, None)
        profile: dict[str, Any] = {"tflite_bytes": int(written.size_bytes)}
        for batch in LATENCY_BATCHES:
            profile[f"tflite_latency_ms_batch_{batch}"] = _interpreter_latency_ms(written.path, image_size, batch,
                                                                                  calls)
    return profile


def _interpreter_latency_ms(path: Path, image_size: Sequence[int], batch_size: int, calls: int,
                            warmup: int = 3) -> float:
    """Median milliseconds of one TFLite `invoke` on a `batch_size` batch of random pixels."""
    from keras_transfer.serving.inference import tflite_interpreter

    interpreter = tflite_interpreter(path)
    pixels = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(pixels["index"], [batch_size, *image_size, 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(pixels["index"], np.random.default_rng(0).uniform(
        0, 255, (batch_size, *image_size, 3)).astype(pixels["dtype"]))
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def model_profile(model: keras.Model, class_names: Sequence[str], image_size: Sequence[int], *,
                  tflite: bool = True, calls: int = 10) -> dict[str, Any]:
    """Parameters, CPU latency at batch 1 and 32 (TensorFlow, and the TFLite interpreter) and the TFLite size.

    Returns:
        `{"parameters", "latency_ms_batch_1", "latency_ms_batch_32"}`, plus `tflite_profile`'s keys when
        `tflite` (else `tflite_bytes` None).
    """
    profile: dict[str, Any] = {"parameters": int(model.count_params())}
    for batch in LATENCY_BATCHES:
        profile[f"latency_ms_batch_{batch}"] = latency_ms(model, image_size, batch, calls=calls)
    profile.update(tflite_profile(model, class_names, image_size, calls=calls) if tflite
                   else {"tflite_bytes": None})
    return profile


def compare_teacher_student(teacher: Teacher, student: keras.Model, class_names: Sequence[str],
                            image_size: Sequence[int], *, teacher_metrics: dict | None = None,
                            student_metrics: dict | None = None, tflite: bool = True,
                            calls: int = 10) -> dict[str, Any]:
    """The teacher and the student side by side, at the student's input size, and their ratios.

    The teacher is timed at the student's input size (the same images), so
    the latency ratio compares the two networks, not two resolutions.

    Args:
        teacher: the `Teacher` (a SavedModel-only teacher gets accuracy only: no Keras model to time).
        student: the student classifier.
        class_names: the classes.
        image_size: the student's (height, width).
        teacher_metrics, student_metrics: their validation metrics, if scored.
        tflite: convert both to TFLite for their sizes (seconds per model).
        calls: timed calls per latency figure.

    Returns:
        `{"teacher": {...}, "student": {...}, "ratios": {"latency_batch_1", "latency_batch_32",
        "tflite_latency_batch_1", "tflite_latency_batch_32", "parameters", "tflite_bytes"}}` (the TFLite ones
        when `tflite`), each ratio student / teacher.

    Example:
        >>> compare_teacher_student(load_teacher("exports/teacher"), result.model, result.class_names, (96, 96))
    """
    student_profile = {**model_profile(student, class_names, image_size, tflite=tflite, calls=calls),
                       **(student_metrics or {})}
    teacher_profile: dict[str, Any] = {"source": teacher.source, **(teacher_metrics or {})}
    ratios: dict[str, float] = {}
    if teacher.model is not None:
        timed_teacher = at_input_size(teacher.model, image_size)
        teacher_profile.update(model_profile(timed_teacher, class_names, image_size, tflite=tflite, calls=calls))
        for key, name in RATIOS:
            if teacher_profile.get(key) and student_profile.get(key) is not None:
                ratios[name] = student_profile[key] / teacher_profile[key]
    return {"teacher": teacher_profile, "student": student_profile, "ratios": ratios}


def at_input_size(model: keras.Model, image_size: Sequence[int]) -> keras.Model:
    """The model, or a copy of it built for another input size (same weights), for timing at the same size."""
    if tuple(model.input_shape[1:3]) == tuple(image_size):
        return model
    copy = keras.models.clone_model(model, input_tensors=keras.Input((*image_size, 3), name="pixels"))
    copy.set_weights(model.get_weights())
    return copy
