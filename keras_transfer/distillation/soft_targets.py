"""The distillation objective on packed targets: the label loss plus the teacher's temperature-softened logits.

A training batch carries one target row per image, packed as
`[labels (C), teacher logits (C), labelled flag (1)]` (`pack_targets`), so
the student is an ordinary classifier trained by `model.fit` and the stage
plan (`run_plan`, `StagedUnfreeze`) drives it unchanged. The soft part is
Keras' own `LogitsDistillation` term (KL divergence of the softened
distributions, times T squared), computed per example with
`keras.losses.kl_divergence`, so class weights and unlabeled rows can be
weighted; `tests/distillation/test_soft_targets.py` pins that its batch mean
equals `keras.distillation.LogitsDistillation(temperature,
loss=keras.losses.KLDivergence()).compute_loss`. (With its default
`loss="kl_divergence"`, Keras 3.15 resolves the string to the function
`kl_divergence`, so its `isinstance(loss_fn, KLDivergence)` branch — softmax,
times T squared — never runs, and it compares the clipped scaled logits
themselves: pass the instance.)

Why not `keras.distillation.Distiller` itself: it wraps teacher and student in
one model, which hides the student's backbone and head from the stage plan
(each stage unfreezes blocks of the fitted model and gives it a new
optimizer), its `compute_loss` reduces over the batch and ignores sample
weights (no class weights, no label mask for unlabeled images), it needs a
`keras.Model` teacher (not an exported SavedModel), and it hands the model's
outputs — probabilities, for our classifiers — to `LogitsDistillation` as if
they were logits.

Logits: an in-memory teacher gives its pre-softmax logits (`teacher.py`). A
softmax classifier's log-probabilities are its logits minus a per-example
constant, `log p = z - logsumexp(z)`, and `softmax(z / T)` does not change
when a constant is added to `z`, so log-probabilities give exactly the same
soft targets: that is what the student's outputs and an exported teacher's
probabilities are turned into.
"""

from __future__ import annotations

import keras
import numpy as np

# Probabilities are floored here before their log: the smallest normal float32, so only underflowed zeros change.
PROBABILITY_FLOOR = float(np.finfo(np.float32).tiny)


def logits_from_probabilities(probabilities):
    """Log-probabilities: a softmax classifier's logits up to a per-example constant that `softmax(z / T)` ignores.

    Args:
        probabilities: (batch, classes) softmax outputs (a tensor or array).

    Returns:
        (batch, classes) log-probabilities, the same kind as the input.

    Example:
        >>> logits_from_probabilities(np.array([[0.5, 0.25, 0.25]], "float32"))
        array([[-0.6931, -1.3863, -1.3863]], dtype=float32)
    """
    return keras.ops.log(keras.ops.maximum(probabilities, PROBABILITY_FLOOR))


def soft_target_loss(teacher_logits, student_logits, temperature: float):
    """Per-example distillation term: `T**2 * KL(softmax(teacher / T) || softmax(student / T))`.

    The term of `keras.distillation.LogitsDistillation(temperature)` with its
    default KL divergence, before its mean over the batch.

    Args:
        teacher_logits: (batch, classes) teacher logits (or log-probabilities).
        student_logits: (batch, classes) student logits (or log-probabilities).
        temperature: the softening temperature, > 0.

    Returns:
        (batch,) losses.

    Example:
        >>> soft_target_loss(np.zeros((1, 3)), np.zeros((1, 3)), 4.0)  # same distributions: 0
    """
    teacher_probabilities = keras.ops.softmax(keras.ops.divide(teacher_logits, temperature), axis=-1)
    student_probabilities = keras.ops.softmax(keras.ops.divide(student_logits, temperature), axis=-1)
    return keras.losses.kl_divergence(teacher_probabilities, student_probabilities) * (temperature ** 2)


def pack_targets(labels, teacher_logits, labelled):
    """One training target row per image: `[labels, teacher logits, labelled flag]`.

    Args:
        labels: (batch, classes) one-hot labels (zeros for an unlabeled image).
        teacher_logits: (batch, classes) the teacher's logits for the same images.
        labelled: (batch,) 1 for a labelled image, 0 for a teacher-labelled one.

    Returns:
        (batch, 2 * classes + 1) float32 targets, for `DistillationObjective` and `OnLabels`.

    Example:
        >>> pack_targets(np.eye(3)[[0]], np.array([[2.0, 0.0, -1.0]]), np.ones(1)).shape
        TensorShape([1, 7])
    """
    flag = keras.ops.cast(keras.ops.reshape(labelled, (-1, 1)), "float32")
    return keras.ops.concatenate([keras.ops.cast(labels, "float32"), keras.ops.cast(teacher_logits, "float32"),
                                  flag], axis=-1)


def unpack_targets(targets, num_classes: int):
    """`(labels, teacher logits, labelled flag)` from `pack_targets` rows."""
    return targets[..., :num_classes], targets[..., num_classes:2 * num_classes], targets[..., 2 * num_classes]


def is_packed(targets, num_classes: int) -> bool:
    """Whether `targets` are packed training rows (validation batches carry the labels alone)."""
    return targets.shape[-1] == 2 * num_classes + 1


@keras.saving.register_keras_serializable("keras_transfer")
class DistillationObjective(keras.losses.Loss):
    """The student's loss: `w * label loss + (1 - w) * soft-target loss` per labelled image, the soft term alone
    for a teacher-labelled one (as `keras.distillation.Distiller` weighs them, with `w = student_loss_weight`).

    On batches that carry only labels (validation), it is the label loss
    alone, so early stopping watches the same `val_loss` as a labels-only run.

    Args:
        label_loss: the task's loss (e.g. `CategoricalCrossentropy(label_smoothing=0.1)`); its per-example
            values are used.
        num_classes: the number of classes C.
        temperature: the softening temperature, > 0.
        student_loss_weight: w in [0, 1]; 1 is training on the labels alone.
        class_weight: optional (C,) weights of the label term per class.

    Example:
        >>> loss = DistillationObjective(keras.losses.CategoricalCrossentropy(), 3, temperature=4.0,
        ...                              student_loss_weight=0.5)
        >>> model.compile(optimizer="adamw", loss=loss, metrics=[OnLabels(keras.metrics.CategoricalAccuracy(), 3)])
    """

    def __init__(self, label_loss: keras.losses.Loss, num_classes: int, temperature: float = 4.0,
                 student_loss_weight: float = 0.5, class_weight=None, name: str = "distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        check_distillation_settings(temperature, student_loss_weight)
        self.label_loss = keras.losses.get(label_loss) if isinstance(label_loss, (str, dict)) else label_loss
        self.num_classes = int(num_classes)
        self.temperature = float(temperature)
        self.student_loss_weight = float(student_loss_weight)
        self.class_weight = None if class_weight is None else [float(value) for value in class_weight]

    def call(self, y_true, y_pred):
        if not is_packed(y_true, self.num_classes):
            return self.label_loss.call(y_true, y_pred)
        labels, teacher_logits, labelled = unpack_targets(y_true, self.num_classes)
        label_term = self.label_loss.call(labels, y_pred)
        if self.class_weight is not None:
            label_term = label_term * keras.ops.sum(labels * keras.ops.convert_to_tensor(self.class_weight), -1)
        soft_term = soft_target_loss(teacher_logits, logits_from_probabilities(y_pred), self.temperature)
        weight = self.student_loss_weight
        labelled_loss = weight * label_term + (1.0 - weight) * soft_term
        return keras.ops.where(labelled > 0.5, labelled_loss, soft_term)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_loss": keras.losses.serialize(self.label_loss),
                "num_classes": self.num_classes, "temperature": self.temperature,
                "student_loss_weight": self.student_loss_weight, "class_weight": self.class_weight}

    @classmethod
    def from_config(cls, config: dict) -> DistillationObjective:
        config = dict(config)
        config["label_loss"] = keras.losses.deserialize(config["label_loss"])
        return cls(**config)


@keras.saving.register_keras_serializable("keras_transfer")
class OnLabels(keras.metrics.Metric):
    """A task metric (accuracy, top-5) that reads only the labels of packed targets, and only labelled rows.

    Args:
        metric: the metric to wrap; its name is kept, so `val_accuracy` is still `val_accuracy`.
        num_classes: the number of classes C.

    Example:
        >>> OnLabels(keras.metrics.CategoricalAccuracy(name="accuracy"), 10).name
        'accuracy'
    """

    def __init__(self, metric: keras.metrics.Metric, num_classes: int, name: str | None = None, **kwargs):
        metric = keras.metrics.get(metric) if isinstance(metric, (str, dict)) else metric
        super().__init__(name=name or metric.name, **kwargs)
        self.metric = metric
        self.num_classes = int(num_classes)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if is_packed(y_true, self.num_classes):
            labels, _, labelled = unpack_targets(y_true, self.num_classes)
            sample_weight = labelled if sample_weight is None else labelled * sample_weight
            y_true = labels
        self.metric.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self) -> dict:
        return {"name": self.name, "metric": keras.metrics.serialize(self.metric), "num_classes": self.num_classes}

    @classmethod
    def from_config(cls, config: dict) -> OnLabels:
        config = dict(config)
        config["metric"] = keras.metrics.deserialize(config["metric"])
        return cls(**config)


def check_distillation_settings(temperature: float, student_loss_weight: float) -> None:
    """Raises a clear error for a temperature or label weight `keras.distillation` would refuse.

    Raises:
        ValueError: temperature not > 0, or student_loss_weight outside [0, 1].
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0 (typical: 2-5), got {temperature!r}.")
    if (isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float))
            or not 0.0 <= student_loss_weight <= 1.0):
        raise ValueError(f"student_loss_weight is the weight of the label loss, between 0 and 1 (1: labels only, "
                         f"0: the teacher's soft targets only), got {student_loss_weight!r}.")
