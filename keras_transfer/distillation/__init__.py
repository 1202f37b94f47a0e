"""Knowledge distillation: a small student trained on a teacher's temperature-softened logits plus the labels.

    distill(teacher, data, student="mobilenetv3small", temperature=4.0, student_loss_weight=0.5,
            unlabeled_data=None, ...) -> FitResult

Modules: `teacher` (a FitResult, model or export folder as logits), `soft_targets` (the objective on packed
targets, around Keras' `LogitsDistillation` term), `unlabeled` (images the teacher labels), `method` (the
`distill` transfer method: `fine_tune` with soft targets), `comparison` (teacher vs student: accuracy,
parameters, CPU latency, TFLite size), `distill` (the entry point).
"""

from keras_transfer.distillation.comparison import compare_teacher_student, model_profile
from keras_transfer.distillation.distill import distill
from keras_transfer.distillation.method import Distill, DistillationContext
from keras_transfer.distillation.soft_targets import (
    DistillationObjective,
    OnLabels,
    logits_from_probabilities,
    soft_target_loss,
)
from keras_transfer.distillation.teacher import Teacher, load_teacher

__all__ = ["distill", "Distill", "DistillationContext", "DistillationObjective", "OnLabels", "Teacher",
           "load_teacher", "soft_target_loss", "logits_from_probabilities", "compare_teacher_student",
           "model_profile"]
