"""Load a trained classifier back for evaluation or prediction: an export folder or a `.keras` model.

`load_classifier` reads what `keras_transfer.export` wrote (or a bare `.keras`
file with a labels file) into a `LoadedClassifier`, which `evaluate()` takes
like a `FitResult`. The helpers around it turn data and image files into what
such a model consumes: `evaluation_dataset` and `labelled_batches` give
`(pixels, labels)` batches, `collect_images` expands folders into image files
and `predict_files` runs a `Predictor` over files, skipping those it cannot decode.

Example:
    >>> from keras_transfer.evaluation.evaluate import evaluate
    >>> classifier = load_classifier("runs/photos/export")
    >>> spec, _ = load_data("test_photos/", validation_split=0, class_names=classifier.class_names)
    >>> print(evaluate(classifier, evaluation_dataset(spec, model_image_size(classifier.model), 32)))
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keras_transfer.serving.export import KERAS_FILE
from keras_transfer.serving.inference import METADATA_FILE, image_files


@dataclass
class LoadedClassifier:
    """A Keras classifier loaded back with what is known about it; `evaluate()` takes it like a `FitResult`.

    Attributes:
        model: the `keras.Model` (RGB pixels 0–255 in, probabilities out).
        class_names: class names in output order, or None when unknown.
        multi_label: whether the outputs are independent sigmoids, or None when unknown.
        config: the training config stored with an export ({} when there is none).
    """

    model: Any
    class_names: list[str] | None = None
    multi_label: bool | None = None
    config: dict[str, Any] = field(default_factory=dict)


def load_classifier(path: str | os.PathLike, labels: str | os.PathLike | None = None) -> LoadedClassifier:
    """Loads a classifier to evaluate: an export folder (its `model.keras` and metadata) or a .keras file.

    Args:
        path: an export folder written by `keras_transfer.export`, or a `.keras` file.
        labels: a labels file (one class per line); for an export folder, it
            replaces the export's own class names.

    Returns:
        A `LoadedClassifier`.

    Raises:
        FileNotFoundError: nothing at `path`, or no labels file at `labels`.
        ValueError: a folder that is not an export, or a file that is not a .keras model.

    Example:
        >>> load_classifier("runs/photos/export").class_names
        ['cat', 'dog']
    """
    import keras

    source = Path(path).expanduser()
    if not source.exists():
        raise FileNotFoundError(f"No model at {source}: give an export folder or a .keras file.")
    metadata: dict[str, Any] = {}
    if source.is_dir():
        if not (source / METADATA_FILE).is_file() or not (source / KERAS_FILE).is_file():
            raise ValueError(f"{source} is not a keras_transfer export folder (it needs {METADATA_FILE} and "
                             f"{KERAS_FILE}): give the folder `fit` or `export` wrote, or a .keras file.")
        metadata = json.loads((source / METADATA_FILE).read_text(encoding="utf-8"))
        model_file = source / KERAS_FILE
    elif source.suffix.lower() == ".keras":
        model_file = source
    else:
        raise ValueError(f"{source} is neither an export folder nor a .keras model file.")
    names = read_labels(labels) if labels else metadata.get("class_names")
    model = keras.saving.load_model(model_file, compile=False)
    return LoadedClassifier(model=model, class_names=list(names) if names else None,
                            multi_label=metadata.get("multi_label", model_multi_label(model)),
                            config=metadata.get("training_config") or {})


def read_labels(path: str | os.PathLike) -> list[str]:
    """Class names from a text file, one per line (blank lines and surrounding spaces ignored).

    Args:
        path: the labels file.

    Returns:
        The class names, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file lists no class.

    Example:
        >>> read_labels("export/labels.txt")
        ['circle', 'square', 'triangle']
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No labels file at {path}: give a text file with one class name per line.")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"{path} lists no class names: write one class name per line, in the model's output order.")
    return names


def model_image_size(model: Any) -> tuple[int, int]:
    """(height, width) of a model's fixed image input.

    Args:
        model: a Keras image classifier.

    Returns:
        The input size.

    Raises:
        ValueError: the model takes any size (give the image size: `--image-size` on the command line).

    Example:
        >>> model_image_size(keras_transfer.build_model("vgg16", 3, weights=None, image_size=32))
        (32, 32)
    """
    shape = model.input_shape[0] if isinstance(model.input_shape, list) else model.input_shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(f"The model's input shape is {shape}, without a fixed image size: pass --image-size.")
    return int(shape[1]), int(shape[2])


def model_multi_label(model: Any) -> bool | None:
    """True for a model ending in several sigmoid units, False for softmax or one sigmoid, None when unknown.

    Args:
        model: a Keras classifier.

    Returns:
        Whether the model is multi-label, or None.

    Example:
        >>> model_multi_label(keras_transfer.build_model("vgg16", 3, weights=None, image_size=32))
        False
    """
    last = model.layers[-1] if getattr(model, "layers", None) else None
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    units = model.output_shape[-1] if isinstance(model.output_shape, tuple) else None
    if activation == "softmax" or (activation == "sigmoid" and units == 1):
        return False
    if activation == "sigmoid" and units:
        return True
    return None


def evaluation_dataset(spec: Any, image_size: Sequence[int], batch_size: int,
                       progress: Callable[[Iterable, int], Iterable] | None = None) -> Any:
    """A one-pass `tf.data.Dataset` of `(pixels, labels)` batches for `evaluate()`.

    Labels are class indices (multi-hot rows for multi-label), in the spec's order.

    Args:
        spec: the data (`DataSpec`).
        image_size: (height, width) the images are resized to.
        batch_size: images per batch.
        progress: called as `progress(batches, total_batches)` when the dataset
            is read, it returns an iterable over the same batches (e.g. one
            that draws a progress bar); None reads the batches as they are.

    Returns:
        The dataset.

    Example:
        >>> evaluate(classifier, evaluation_dataset(spec, (224, 224), 32))
    """
    import tensorflow as tf

    batches = pixel_batches(spec, image_size, batch_size).prefetch(tf.data.AUTOTUNE)
    if progress is None:
        return batches
    total = math.ceil(len(spec) / batch_size)

    def generate() -> Iterator:
        yield from progress(batches, total)

    return tf.data.Dataset.from_generator(generate, output_signature=batches.element_spec)


def labelled_batches(data: Any, image_size: Sequence[int], class_names: Sequence[str] | None, multi_label: bool,
                     batch_size: int = 64) -> Any:
    """`(pixels, labels)` batches of a folder/CSV/tfds source in a model's class order; None for None.

    For what `export` takes as `representative_data` and `validation_data`.

    Args:
        data: a data source `load_data` reads (a folder, a CSV, `tfds:NAME:SPLIT`), or None.
        image_size: (height, width) the images are resized to.
        class_names: the model's class names, in output order.
        multi_label: whether the model is multi-label (the data must match).
        batch_size: images per batch.

    Returns:
        A `tf.data.Dataset`, or None when `data` is None.

    Raises:
        ValueError: the data's labels are single-label for a multi-label model, or the other way round.

    Example:
        >>> export(model, "out", class_names=names, tflite=["int8"],
        ...        representative_data=labelled_batches("photos/", (224, 224), names, False))
    """
    if data is None:
        return None
    from keras_transfer.data.sources import load_data

    spec, _ = load_data(data, validation_split=0, class_names=class_names)
    if spec.multi_label != multi_label:
        raise ValueError(f"{data} has {'multi' if spec.multi_label else 'single'}-label labels but the model is "
                         f"{'multi' if multi_label else 'single'}-label.")
    return pixel_batches(spec, image_size, batch_size)


def pixel_batches(spec: Any, image_size: Sequence[int], batch_size: int) -> Any:
    """The spec's images as `(pixels 0–255, labels)` batches, in order.

    Args:
        spec: the data (`DataSpec`).
        image_size: (height, width) the images are resized to.
        batch_size: images per batch.

    Returns:
        A batched `tf.data.Dataset`.

    Example:
        >>> next(iter(pixel_batches(spec, (32, 32), 8)))[0].shape
        TensorShape([8, 32, 32, 3])
    """
    from keras_transfer.data.pipeline import pixels_dataset

    return pixels_dataset(spec, tuple(image_size)).batch(batch_size)


def collect_images(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Expands folders into their image files (recursive, sorted); keeps files as given.

    Args:
        inputs: image files and folders.

    Returns:
        The image paths, folders' images in sorted order at the folder's place.

    Raises:
        FileNotFoundError: an input that does not exist.
        ValueError: a folder without images.

    Example:
        >>> collect_images(["a.jpg", "more/"])
        [PosixPath('a.jpg'), PosixPath('more/b.png'), PosixPath('more/c.png')]
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            files += image_files(path, recursive=True)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"No such image file or folder: {path}.")
    return files


def predict_files(predictor: Any, files: Sequence[Path], top_k: int, batch_size: int = 64,
                  on_batch: Callable[[int], Any] | None = None) -> tuple[list[dict], list[tuple[Path, str]]]:
    """Runs a `Predictor` over files in batches; files it cannot decode are skipped.

    Args:
        predictor: from `keras_transfer.serving.inference.load`.
        files: the image files.
        top_k: classes per result.
        batch_size: images per model call.
        on_batch: called with the number of files of each batch once it is done (e.g. a progress bar's `update`).

    Returns:
        `(results, skipped)`: the predictor's result dicts in file order, and
        `(path, reason)` for each file left out.

    Example:
        >>> results, skipped = predict_files(load("export"), [Path("a.png")], top_k=2)
    """
    results: list[dict] = []
    skipped: list[tuple[Path, str]] = []
    for start in range(0, len(files), batch_size):
        chunk = list(files[start:start + batch_size])
        try:
            results += predictor.predict(chunk, top_k=top_k)
        except ValueError:  # an undecodable file: find it, keep the others
            for path in chunk:
                try:
                    results += predictor.predict([path], top_k=top_k)
                except ValueError as error:
                    skipped.append((path, str(error)))
        if on_batch is not None:
            on_batch(len(chunk))
    return results, skipped
