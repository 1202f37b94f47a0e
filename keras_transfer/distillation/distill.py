"""`distill()`: a small student trained on a teacher's soft targets plus the labels, compared with the teacher."""

from __future__ import annotations

from typing import Any

from keras_transfer.distillation.comparison import compare_teacher_student
from keras_transfer.distillation.method import Distill
from keras_transfer.distillation.teacher import load_teacher
from keras_transfer.log import Log
from keras_transfer.recipes.build_and_fit import MAIN, build_and_fit
from keras_transfer.recipes.result import FitResult

DEFAULT_STUDENT = "mobilenetv3small"


def distill(teacher: Any, data: Any, student: Any = DEFAULT_STUDENT, *, temperature: float = 4.0,
            student_loss_weight: float = 0.5, unlabeled_data: Any = None, weights: str | None = None,
            compare: bool = True, **options) -> FitResult:
    """Distils `teacher` into a `student` backbone with the usual stage plan; keeps the labels-only student if better.

    The student trains on `student_loss_weight * label loss + (1 -
    student_loss_weight) * T^2 KL(softmax(teacher logits / T) || softmax(student
    logits / T))` (the objective of `keras.distillation.Distiller` with
    `LogitsDistillation`), on the teacher's logits for the same augmented
    images; `unlabeled_data` adds images the teacher labels (their loss is the
    soft term alone). The same student is also trained on the labels alone,
    from the same initial weights (the `fine_tune` baseline); when it scores a
    higher validation accuracy, it is kept and a warning says distilling hurt.

    Args:
        teacher: a `FitResult`, a Keras classifier (softmax outputs), an export folder or a `.keras` file.
        data: the labelled data (any kind `build_and_fit` takes); validation comes from `validation_data` or
            `validation_split` as usual.
        student: a registry backbone name (`list_backbones()`), a `BackboneSpec` or a `keras.Model`.
        temperature: softens both distributions (> 0; typical 2-5).
        student_loss_weight: the weight of the label loss in [0, 1]; 1 is labels only.
        unlabeled_data: images without labels (an array, a folder or files) for the teacher to label.
        weights: the student's weights: None (from scratch, the default), "imagenet" or a weights file.
        compare: profile teacher and student (parameters, CPU latency at batch 1 and 32, TFLite size) into
            `result.method_record["comparison"]`.
        **options: any other `build_and_fit` option (image_size, epochs, stages, seed, output_dir, ...).

    Returns:
        A `FitResult`; `result.method_record` holds the distillation settings, the teacher's validation
        metrics and the comparison, and `build_and_fit_from_config(result.config)` reruns it (a teacher that
        was not a path is asked for again: `teacher=`).

    Raises:
        ValueError: a teacher or data that cannot be distilled (with what to pass instead).

    Example:
        >>> result = keras_transfer.distill("exports/fashion_teacher", "fashion/", student="mobilenetv3small",
        ...                                 temperature=4.0, student_loss_weight=0.3, unlabeled_data="unlabeled/",
        ...                                 image_size=96, epochs=10)
        >>> result.method_record["comparison"]["ratios"]["latency_batch_32"]
    """
    for name in ("method", "teacher", "backbone"):
        if name in options:
            raise TypeError(f"distill sets {name}= itself: give the teacher and the student as its arguments.")
    loaded = load_teacher(teacher)
    method_options = {**options.pop("method_options", {}), "temperature": temperature,
                      "student_loss_weight": student_loss_weight}
    Distill(**method_options)  # bad settings raise here, before any data is read
    result = build_and_fit(data, backbone=student, weights=weights, method="distill", teacher=teacher_option(
        teacher, loaded), unlabeled_data=unlabeled_data, method_options=method_options, **options)
    if result.kept != MAIN:
        warning = (f"Distilling hurt: the student trained on the labels alone scored validation accuracy "
                   f"{result.baselines[result.kept].get('accuracy', float('nan')):.4f} against "
                   f"{result.baselines[MAIN].get('accuracy', float('nan')):.4f} distilled, so the labels-only "
                   "student is kept. Try another temperature or student_loss_weight, or more unlabeled_data.")
        result.warnings.append(warning)
        Log(options.get("verbose", 1)).warning(warning)
    if compare:
        record = result.method_record
        record["comparison"] = compare_teacher_student(
            loaded, result.model, result.class_names, result.image_size,
            teacher_metrics=record.get("teacher_metrics"), student_metrics=result.metrics)
        record["comparison"]["student"]["kept"] = "distilled" if result.kept == MAIN else "labels only"
    return result


def teacher_option(teacher: Any, loaded) -> Any:
    """What the config's `teacher` option holds: the path when there is one, else the loaded teacher."""
    return teacher if isinstance(teacher, str) else loaded
