"""The `distill` method: the student trains with the usual stage plan on the teacher's soft targets plus the labels.

It is `fine_tune` with other targets: the same plan, the same cached head
stages (the head on frozen features, warm-started at the linear probe), the
same unfrozen stages in one `model.fit`, but every training row carries the
teacher's logits for the same (augmented) image and the loss is the
`DistillationObjective`. Its honest baseline is `fine_tune` itself — the same
student, from the same initial weights, on the labels alone — which the
recipe scores on the same validation split and keeps, with a warning, when
distilling did not help.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.unlabeled import unlabeled_images
from keras_transfer.distillation.soft_targets import (
    DistillationObjective,
    OnLabels,
    check_distillation_settings,
    pack_targets,
)
from keras_transfer.distillation.teacher import Teacher, load_teacher
from keras_transfer.methods.base import MethodResult, register_method
from keras_transfer.methods.fine_tune import FineTune
from keras_transfer.recipes.context import RunContext
from keras_transfer.train.feature_cache import extract_features

UNLABELED = -1  # the label of an image without one (one-hot: all zeros; its packed row is not "labelled")


@register_method
class Distill(FineTune):
    """Knowledge distillation into the run's backbone (the student) from `teacher=`.

    Options:
        temperature: softens both distributions before they are compared (default 4).
        student_loss_weight: the weight of the label loss, in [0, 1] (as in
            `keras.distillation.Distiller`); 1 is training on the labels alone.
        without_validation: as for `fine_tune`.

    Example:
        >>> build_and_fit("photos/", backbone="mobilenetv3small", method="distill", teacher=teacher_result,
        ...               method_options={"temperature": 4.0, "student_loss_weight": 0.3})
    """

    name = "distill"
    extra_data = ("teacher",)
    combines_with = frozenset({"fine_tune", "linear_probe", "scratch"})
    honest_baseline = "fine_tune"
    option_defaults = {**FineTune.option_defaults, "temperature": 4.0, "student_loss_weight": 0.5}

    def __init__(self, **options):
        super().__init__(**options)
        check_distillation_settings(self.options["temperature"], self.options["student_loss_weight"])
        self.teacher: Teacher | None = None
        self.initial_state: list[np.ndarray] | None = None

    def check(self, context: RunContext) -> None:
        """Loads the teacher and checks it fits the data; keeps the student's initial weights for `fit`."""
        super().check(context)
        spec = context.train_spec
        if spec.multi_label or spec.num_classes < 3:
            raise ValueError("distill needs a single-label task with 3 or more classes (softmax outputs); this "
                             f"one is {'multi-label' if spec.multi_label else 'binary'}.")
        if context.config.runtime.resume:
            raise ValueError("distill cannot resume a killed run yet (its labels-only baseline shares the resume "
                             "folder): run it again with resume=False.")
        teacher = load_teacher(context.config.get("teacher"))
        if teacher.num_classes != spec.num_classes:
            raise ValueError(f"The teacher predicts {teacher.num_classes} classes and the data has "
                             f"{spec.num_classes}: distil from a teacher trained on these classes.")
        if teacher.class_names is not None and list(teacher.class_names) != list(spec.class_names):
            raise ValueError(f"The teacher's classes {teacher.class_names} are not the data's {spec.class_names} "
                             f"(in order): pass class_names={teacher.class_names!r}.")
        self.teacher = teacher
        if context.config.get("unlabeled_data") is not None:
            context.extra_specs["unlabeled_data"] = unlabeled_images(
                context.config.get("unlabeled_data"), list(spec.class_names), option="unlabeled_data",
                label=UNLABELED, scan=context.config.data.scan, strict=context.config.data.strict,
                max_pixels=context.config.data.max_pixels)
        # The labels-only baseline runs first and trains context.model in place: the student starts from a copy
        # of these values (seed-generator states included, so dropout draws the same masks).
        self.initial_state = [np.array(variable) for variable in context.model.variables]

    def fit(self, context: RunContext) -> MethodResult:
        if self.teacher is None:
            self.check(context)
        keras.utils.set_random_seed(context.seed)  # the same random draws as the labels-only run from here on
        student = context.build_classifier()
        for variable, value in zip(student.variables, self.initial_state, strict=True):
            variable.assign(value)
        student_context = DistillationContext.of(context, student, self.teacher, self.options)
        outcome = FineTune.fit(self, student_context)
        context.compile(outcome.model)  # a plain classifier again: the task's loss and metrics
        outcome.record = {**outcome.record, **self.record(context, student_context),
                          # both students, for comparisons: the baseline trained context.model in place
                          "models": {"distilled": outcome.model, "labels_only": context.model}}
        return outcome

    def record(self, context: RunContext, student_context: DistillationContext) -> dict[str, Any]:
        """The settings as resolved and what the teacher scores on the same validation split."""
        from keras_transfer.distillation.comparison import teacher_scores

        return {"temperature": float(self.options["temperature"]),
                "student_loss_weight": float(self.options["student_loss_weight"]),
                "teacher": self.teacher.source, "teacher_logits": "pre-softmax" if self.teacher.exact_logits
                else "log-probabilities", "unlabeled_images": student_context.unlabeled_count,
                "teacher_metrics": teacher_scores(self.teacher, context.validation_dataset)}


@dataclass
class DistillationContext(RunContext):
    """The run's context as the student sees it: packed targets, the distillation loss, the student model.

    Attributes:
        teacher: the loaded teacher.
        temperature, student_loss_weight: the objective's settings.
        unlabeled: the unlabeled images' spec, or None.
        class_weight_vector: per-class weights of the label term (the loss applies them: Keras' class_weight
            would read a class from the packed rows).
    """

    teacher: Teacher | None = None
    temperature: float = 4.0
    student_loss_weight: float = 0.5
    unlabeled: Any = None
    class_weight_vector: list[float] | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, context: RunContext, student: keras.Model, teacher: Teacher, options: dict) -> DistillationContext:
        """The student's context from the run's: the same data, caches and shared features."""
        shared = {item.name: getattr(context, item.name) for item in dataclasses.fields(RunContext)}
        weights = context.class_weight
        vector = None if weights is None else [float(weights.get(index, 1.0))
                                               for index in range(context.train_spec.num_classes)]
        student_context = cls(**{**shared, "model": student, "class_weight": None}, teacher=teacher,
                              temperature=float(options["temperature"]),
                              student_loss_weight=float(options["student_loss_weight"]),
                              unlabeled=context.extra_specs.get("unlabeled_data"), class_weight_vector=vector)
        student_context.train_dataset = student_context.packed_training_dataset()
        return student_context

    @property
    def unlabeled_count(self) -> int:
        return 0 if self.unlabeled is None else len(self.unlabeled)

    def loss_and_metrics(self):
        """The distillation objective around the task's loss, and the task's metrics on the label columns."""
        loss, metrics = super().loss_and_metrics()
        classes = self.train_spec.num_classes
        return (DistillationObjective(loss, classes, self.temperature, self.student_loss_weight,
                                      self.class_weight_vector),
                [OnLabels(metric, classes) for metric in metrics])

    def packed_training_dataset(self) -> tf.data.Dataset:
        """The training batches (labelled, then unlabeled images mixed in), each row packed with the teacher's
        logits for the same augmented image."""
        spec, decoded = self.train_spec, self.train_images
        if self.unlabeled is not None:
            spec = dataclasses.replace(spec, labels=np.concatenate([spec.labels, self.unlabeled.labels]),
                                       paths=None, images=None, dataset=None)
            decoded = decoded.concatenate(self.unlabeled_images())
        batches = make_dataset(spec, self.image_size, self.batch_size, training=True, augmentation=self.augmentation,
                               seed=self.seed, decoded=decoded)
        teacher = self.teacher
        return batches.map(lambda images, labels: (images, pack_targets(
            labels, teacher.logits_of(images), tf.reduce_sum(labels, axis=-1))))

    def unlabeled_images(self) -> tf.data.Dataset:
        """The unlabeled images decoded once (their labels -1), cached like the training images."""
        if "decoded" not in self._cache:
            self._cache["decoded"] = decoded_images(self.unlabeled, self.image_size,
                                                              cache=self.config.data.cache)
        return self._cache["decoded"]

    def features(self, views: int = 0):
        """The shared frozen features, with packed targets (the teacher on the clean images), unlabeled ones added.

        Augmented views reuse the clean image's teacher logits (the features were computed once, before).
        """
        (train_features, labels), validation = super().features(views)
        if views not in self._cache:
            count = len(self.train_spec)
            teacher_logits = self.clean_teacher_logits(self.train_spec, self.train_images)
            repeats = len(train_features) // count
            rows = [(train_features, pack_targets(labels, np.tile(teacher_logits, (repeats, 1)), np.ones(len(labels))))]
            if self.unlabeled is not None:
                unlabeled_features, zeros = extract_features(self.model, self.unlabeled, self.image_size,
                                                             self.batch_size, decoded=self.unlabeled_images())
                rows.append((unlabeled_features, pack_targets(
                    zeros, self.clean_teacher_logits(self.unlabeled, self.unlabeled_images()),
                    np.zeros(len(zeros)))))
            self._cache[views] = (np.concatenate([row[0] for row in rows]),
                                            np.concatenate([np.asarray(row[1]) for row in rows]))
        return self._cache[views], validation

    def clean_features(self):
        """The labelled training features with their labels (the linear-probe warm start reads these)."""
        (features, labels), _ = RunContext.features(self)
        count = len(self.train_spec)
        return features[:count], labels[:count]

    def clean_teacher_logits(self, spec, decoded) -> np.ndarray:
        """The teacher's logits of a spec's clean images, in the spec's order."""
        batches = make_dataset(spec, self.image_size, self.batch_size, decoded=decoded)
        return np.concatenate([self.teacher.logits_of(images).numpy() for images, _ in batches])
