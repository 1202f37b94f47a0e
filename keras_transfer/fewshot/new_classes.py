"""`add_classes()`: new classes (or more images of known ones) for a prototype classifier, no retraining.

Only the prototypes of the classes in the new data change; every other
prototype is copied as it is. Works on a `FitResult` of `few_shot`, on a
model reloaded with `load_model()` (an export's `model.keras`), or on the
`LoadedClassifier` of `load_classifier()`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np

from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import DataSpec, to_spec
from keras_transfer.fewshot.prototype_head import (
    class_means,
    embedding_model,
    find_prototype_head,
    prototype_classifier,
)
from keras_transfer.recipes.result import FitResult
from keras_transfer.serving.loading import LoadedClassifier


def merged_prototypes(names: list[str], prototypes: np.ndarray, counts: np.ndarray, new_names: list[str],
                      new_prototypes: np.ndarray, new_counts: np.ndarray,
                      replace: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Known classes in new data get the mean over old and new images (or the new mean, with `replace`);
    unknown ones are appended; the others are copied unchanged.

    Args:
        names, prototypes, counts: the model's classes, (K, D) means and (K,) image counts.
        new_names, new_prototypes, new_counts: the same for the new data.
        replace: forget a known class's old images instead of averaging with them.

    Returns:
        `(names, prototypes, counts)` of the merged classes: the old order, then the new classes.

    Example:
        >>> merged_prototypes(["a"], p, np.array([1.]), ["b"], q, np.array([2.]))[0]
        ['a', 'b']
    """
    names = list(names)
    prototypes = np.array(prototypes, dtype="float64")
    counts = np.array(counts, dtype="float64")
    for name, mean, count in zip(new_names, new_prototypes, new_counts):
        if count == 0:
            continue
        if name in names:
            index = names.index(name)
            old = 0.0 if replace else counts[index]
            prototypes[index] = (old * prototypes[index] + count * mean) / (old + count)
            counts[index] = old + count
        else:
            names.append(name)
            prototypes = np.vstack([prototypes, mean[None, :]])
            counts = np.append(counts, count)
    return names, prototypes.astype("float32"), counts.astype("float32")


def add_classes_to_model(model: keras.Model, data: Any, *, replace: bool = False, batch_size: int = 32,
                         **source_options: Any) -> keras.Model:
    """A prototype classifier with the classes of `data` added (or updated); `model` itself is unchanged.

    Args:
        model: a classifier ending in a `PrototypeHead` (from `few_shot`, or reloaded with `load_model`).
        data: labelled images in any form `to_spec` reads (one class is enough); its class names are matched
            to the model's.
        replace: a known class's prototype becomes the mean of the new images only (default: of old and new).
        batch_size: images per forward pass.
        **source_options: how the data is read (`path_column`, `label_column`, `scan`, ...; see `to_spec`).

    Returns:
        A new `keras.Model` sharing `model`'s backbone, with a new head.

    Raises:
        ValueError: the model has no `PrototypeHead`, or the data is multi-label.

    Example:
        >>> bigger = add_classes_to_model(model, "new_class_images/")
    """
    head = find_prototype_head(model)
    spec = to_spec(data, role="support", **source_options)  # one new class is enough (no two-class check)
    if spec.multi_label:
        raise ValueError("add_classes needs single-label data (one class per image).")
    features, _ = embed_spec(model, spec, batch_size)
    new_prototypes, new_counts = class_means(features, np.asarray(spec.labels), spec.num_classes)
    names, prototypes, counts = merged_prototypes(
        head.class_names, keras.ops.convert_to_numpy(head.prototypes), keras.ops.convert_to_numpy(head.counts),
        list(spec.class_names), new_prototypes, new_counts, replace=replace)
    return prototype_classifier(embedding_model(model), prototypes, counts, names, distance=head.distance,
                                scale=head.scale, name=model.name)


def embed_spec(model: keras.Model, spec: DataSpec, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings `model`'s prototypes live in, of every image of `spec`, with their labels.

    Args:
        model: a prototype classifier (or a `build_model` classifier).
        spec: the images.
        batch_size: images per forward pass.

    Returns:
        `(features (N, D) float32, labels as the pipeline gives them)`.

    Example:
        >>> features, labels = embed_spec(model, spec)
    """
    extractor = embedding_model(model)
    image_size = tuple(int(side) for side in model.inputs[0].shape[1:3])
    features, labels = [], []
    for images, targets in make_dataset(spec, image_size, batch_size, cache=False):
        features.append(keras.ops.convert_to_numpy(extractor(images, training=False)))
        labels.append(targets.numpy())
    return np.concatenate(features).astype("float32"), np.concatenate(labels)


def add_classes(model_or_result: Any, data: Any, *, replace: bool = False, batch_size: int = 32,
                **source_options: Any) -> Any:
    """Adds classes to a prototype classifier from a few images each, or updates classes it has.

    No gradient step and no other prototype touched: each new class's prototype
    is the mean normalised embedding of its images; a class the model knows
    already averages the new images with the old ones (`replace=True` starts it
    afresh).

    Args:
        model_or_result: a `FitResult` of `few_shot`, a `keras.Model` ending in a `PrototypeHead`
            (e.g. `load_model("export/model.keras")`), or a `LoadedClassifier` (`load_classifier`).
        data: labelled images (a folder with a sub-folder per class, `(images, labels)` arrays, a CSV, ...).
        replace: forget a known class's old images.
        batch_size: images per forward pass.
        **source_options: how the data is read (see `to_spec`).

    Returns:
        The same kind of object as given, with the new model and class names. A `FitResult`'s config
        lists the new class names and its metrics are emptied (they scored the old classes).

    Raises:
        TypeError: something that is not a model, `FitResult` or `LoadedClassifier`.
        ValueError: a model that is not a prototype classifier.

    Example:
        >>> result = keras_transfer.few_shot("support/", backbone="mobilenet")
        >>> result = keras_transfer.add_classes(result, "new_class/")
        >>> result.export("saved_models/few_shot")
    """
    if isinstance(model_or_result, keras.Model):
        return add_classes_to_model(model_or_result, data, replace=replace, batch_size=batch_size, **source_options)
    if not isinstance(model_or_result, (FitResult, LoadedClassifier)):
        raise TypeError(f"add_classes takes a FitResult, a keras.Model or a LoadedClassifier, got "
                        f"{type(model_or_result).__name__}.")
    model = add_classes_to_model(model_or_result.model, data, replace=replace, batch_size=batch_size,
                                 **source_options)
    names = list(find_prototype_head(model).class_names)
    if isinstance(model_or_result, LoadedClassifier):
        return dataclasses.replace(model_or_result, model=model, class_names=names)
    config = {**model_or_result.config, "class_names": names}
    fit_config = model_or_result.fit_config
    fit_config = fit_config.replace(class_names=names) if fit_config is not None else None
    return dataclasses.replace(model_or_result, model=model, class_names=names, config=config,
                               fit_config=fit_config, metrics={})
