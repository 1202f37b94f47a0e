"""The teacher: a `FitResult`, a Keras classifier or an export folder, as one function from pixels to logits.

An in-memory softmax classifier gives its pre-softmax logits (its output
layer copied without the softmax); an export folder whose SavedModel returns
only probabilities gives their logarithm, which is the logits minus a
per-example constant and so the same soft targets (see `soft_targets.py`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.distillation.soft_targets import logits_from_probabilities
from keras_transfer.models.classifier import load_model

TEACHER_KINDS = ("a FitResult", "a keras.Model classifier (softmax outputs)", "an export folder",
                 "a .keras file")


@dataclass
class Teacher:
    """A frozen teacher, ready to give logits.

    Attributes:
        logits: a function from float32 pixels (batch, height, width, 3), RGB 0-255, to (batch, classes) logits.
        class_names: its classes in output order, or None when unknown.
        image_size: the (height, width) it takes; other sizes are resized to it.
        model: the Keras classifier (probabilities out), or None for a SavedModel-only teacher.
        source: what it was loaded from, for the config and the report.
        exact_logits: True for pre-softmax logits, False for log-probabilities (the same soft targets).
    """

    logits: Any
    class_names: list[str] | None
    image_size: tuple[int, int]
    model: keras.Model | None
    source: str
    exact_logits: bool

    @property
    def num_classes(self) -> int:
        """The number of classes it predicts."""
        return int(self.logits(tf.zeros((1, *self.image_size, 3), tf.float32)).shape[-1])

    def logits_of(self, pixels) -> tf.Tensor:
        """The teacher's logits for a batch of pixels of any size (resized to its own input size)."""
        pixels = tf.cast(pixels, tf.float32)
        if tuple(pixels.shape[1:3]) != tuple(self.image_size):
            pixels = tf.image.resize(pixels, self.image_size)
        return tf.cast(self.logits(pixels), tf.float32)

    def predict_logits(self, pixels: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """`logits_of` over an array, in batches."""
        return np.concatenate([self.logits_of(pixels[start:start + batch_size]).numpy()
                               for start in range(0, len(pixels), batch_size)])


def load_teacher(teacher: Any) -> Teacher:
    """The teacher from a `FitResult`, a Keras classifier, an export folder or a `.keras` file.

    Args:
        teacher: what to distil from.

    Returns:
        A `Teacher`.

    Raises:
        FileNotFoundError: a path with nothing at it.
        ValueError: anything else, or a model that does not end in a softmax over 3+ classes.

    Example:
        >>> teacher = load_teacher("exports/fashion")
        >>> teacher.logits_of(np.zeros((1, 96, 96, 3))).shape
        TensorShape([1, 10])
    """
    from keras_transfer.recipes.result import FitResult

    if isinstance(teacher, Teacher):
        return teacher
    if isinstance(teacher, FitResult):
        return model_teacher(teacher.model, teacher.class_names, source="<FitResult>")
    if isinstance(teacher, keras.Model):
        return model_teacher(teacher, None, source=f"<{type(teacher).__name__}>")
    if isinstance(teacher, (str, os.PathLike)):
        return path_teacher(Path(teacher).expanduser())
    raise ValueError(f"The teacher must be {', '.join(TEACHER_KINDS)}; got {type(teacher).__name__}.")


def model_teacher(model: keras.Model, class_names: list[str] | None, source: str) -> Teacher:
    """A teacher from an in-memory classifier: its pre-softmax logits."""
    logits_model = pre_softmax_model(model)
    logits = tf.function(lambda pixels: logits_model(pixels, training=False), reduce_retracing=True)
    height, width = model.input_shape[1:3]
    return Teacher(logits=logits, class_names=list(class_names) if class_names else None,
                   image_size=(int(height), int(width)), model=model, source=source, exact_logits=True)


def pre_softmax_model(model: keras.Model) -> keras.Model:
    """The classifier up to its output layer's logits: the last layer copied without its softmax.

    Args:
        model: a functional classifier whose last layer is a softmax `Dense` (as `build_model` makes).

    Returns:
        A `keras.Model` from the same inputs to the logits (the teacher is frozen, so a copy is exact).

    Raises:
        ValueError: the model does not end in a softmax `Dense` over 3+ classes.

    Example:
        >>> pre_softmax_model(result.model).predict(pixels)  # softmax of these is result.model.predict(pixels)
    """
    last = model.layers[-1] if getattr(model, "layers", None) else None
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if not isinstance(last, keras.layers.Dense) or activation != "softmax":
        raise ValueError(f"Distillation needs a teacher that ends in a softmax Dense layer (a keras_transfer "
                         f"classifier over 3+ classes); {model.name!r} ends in {type(last).__name__} "
                         f"with activation {activation!r}. Pass the FitResult or the export folder of a "
                         "multi-class run.")
    config = {**last.get_config(), "activation": "linear", "name": f"{last.name}_logits"}
    logits_layer = keras.layers.Dense.from_config(config)
    outputs = logits_layer(last.input)
    logits_layer.set_weights(last.get_weights())
    return keras.Model(model.inputs, outputs, name=f"{model.name}_logits")


def path_teacher(path: Path) -> Teacher:
    """A teacher from disk: an export folder (its `model.keras`, else its SavedModel) or a .keras file."""
    from keras_transfer.serving.export import KERAS_FILE
    from keras_transfer.serving.inference import METADATA_FILE, load

    if not path.exists():
        raise FileNotFoundError(f"No teacher at {path}: give an export folder (keras_transfer.export) or a .keras "
                                "file.")
    if path.is_file():
        if path.suffix != ".keras":
            raise ValueError(f"The teacher file {path} is not a .keras model: give an export folder or a .keras file.")
        return model_teacher(load_model(path), None, source=str(path))
    if not (path / METADATA_FILE).is_file():
        raise ValueError(f"{path} is not a keras_transfer export folder (no {METADATA_FILE}): export the teacher "
                         "with FitResult.export or keras_transfer.export, or give its .keras file.")
    predictor = load(path)
    if predictor.multi_label:
        raise ValueError(f"The teacher at {path} is multi-label (independent sigmoids): distillation needs a "
                         "softmax classifier over 3+ classes.")
    if (path / KERAS_FILE).is_file():
        return model_teacher(load_model(path / KERAS_FILE), predictor.class_names, source=str(path))
    return savedmodel_teacher(path, predictor.class_names, tuple(predictor.image_size))


def savedmodel_teacher(path: Path, class_names: list[str], image_size: tuple[int, int]) -> Teacher:
    """A teacher from an export's SavedModel alone: the log of its `probabilities` (exact soft targets)."""
    from keras_transfer.serving.inference import SAVED_MODEL_DIR, SERVING_PIXELS

    saved_model = tf.saved_model.load(str(path / SAVED_MODEL_DIR))
    serve_pixels = saved_model.signatures[SERVING_PIXELS]

    def logits(pixels):
        return logits_from_probabilities(serve_pixels(pixels=pixels)["probabilities"])

    logits.saved_model = saved_model  # keeps the loaded object (and its variables) alive with the function
    return Teacher(logits=logits, class_names=list(class_names), image_size=image_size, model=None,
                   source=str(path), exact_logits=False)
