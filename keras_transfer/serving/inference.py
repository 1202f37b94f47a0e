"""Predict with an exported classifier: `load(directory)` gives a `Predictor`.

The predictor runs the export's SavedModel signatures only (encoded bytes go
to `serving_default`, pixels to `serving_pixels`), so it needs TensorFlow but
neither Keras nor the code the model was trained with.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_transfer.data.folders import list_images
from keras_transfer.data.images import IMAGE_EXTENSIONS, resize_pixels
from keras_transfer.serving.remote import download_folder, is_remote

SAVED_MODEL_DIR = "saved_model"
LABELS_FILE = "labels.txt"
METADATA_FILE = "keras_transfer.json"
SERVING_IMAGES = "serving_default"
SERVING_PIXELS = "serving_pixels"
SUPPORTED_FORMAT_VERSION = 1
DEFAULT_BATCH_SIZE = 64

_SUPPORTED_INPUTS = (
    "a file path (str or pathlib.Path), encoded image bytes, a PIL image, a numpy array of RGB pixels 0-255 "
    "(height, width, 3) or a batch (N, height, width, 3), or a list of these"
)


def load(directory: str | os.PathLike) -> Predictor:
    """Loads an export folder written by `keras_transfer.export`.

    Args:
        directory: the export folder (its `saved_model/` subfolder is accepted too).

    Returns:
        A `Predictor`.

    Raises:
        FileNotFoundError: nothing at `directory`.
        NotADirectoryError: `directory` is a file.
        ValueError: the folder is not a keras_transfer export, was written
            by a newer keras_transfer, or is a bucket export without its
            `EXPORT_COMPLETE` marker (a copy under way or stopped part-way).

    Example:
        >>> predictor = load("exports/shapes")
        >>> predictor.predict("photo.jpg")[0]["class_name"]
        'circle'
    """
    if is_remote(directory):  # a bucket: complete (EXPORT_COMPLETE written last) or refused, then copied here
        directory = download_folder(os.fspath(directory))
    folder = Path(directory).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"No export folder at {folder}: check the path (export with keras_transfer.export).")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file; load() needs the export folder that holds {METADATA_FILE}.")
    if folder.name == SAVED_MODEL_DIR and (folder.parent / METADATA_FILE).is_file():
        folder = folder.parent
    missing = [name for name in (METADATA_FILE, f"{SAVED_MODEL_DIR}/saved_model.pb") if not (folder / name).is_file()]
    if missing:
        raise ValueError(
            f"{folder} is not a keras_transfer export folder (missing {', '.join(missing)}). "
            "Pass the folder that keras_transfer.export() wrote."
        )
    metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
    version = metadata.get("format_version", 0)
    if version > SUPPORTED_FORMAT_VERSION:
        raise ValueError(
            f"{folder} was written in export format {version}, newer than this keras_transfer reads "
            f"({SUPPORTED_FORMAT_VERSION}): upgrade keras_transfer."
        )
    if metadata.get("modality") == "text":  # a text export (keras_transfer.text): raw strings in
        from keras_transfer.text.predictor import TextPredictor

        return TextPredictor(folder)
    saved_model = tf.saved_model.load(str(folder / SAVED_MODEL_DIR))
    return Predictor(folder, saved_model, metadata)


@dataclass
class _Item:
    """One input, normalised: encoded bytes or float32 pixels, with a name for the results."""

    name: str
    encoded: bytes | None = None
    pixels: np.ndarray | None = None


class Predictor:
    """Predicts classes with an exported classifier.

    Attributes:
        directory: the export folder.
        class_names: the classes, in output order.
        image_size: (height, width) the model sees.
        multi_label: independent labels per image.
        top_k: the default number of classes in each result's `top_k`.
        threshold: the probability at which a multi-label result lists a label.
        metadata: the contents of `keras_transfer.json`.

    Example:
        >>> predictor = keras_transfer.inference.load("exports/shapes")
        >>> predictor.predict(["a.jpg", open("b.png", "rb").read()], top_k=2)
        [{'input': 'a.jpg', 'class_name': 'circle', 'probability': 0.97, 'top_k': [...]}, ...]
    """

    def __init__(self, directory: Path, saved_model: Any, metadata: dict, threshold: float = 0.5):
        self.directory = Path(directory)
        self.metadata = metadata
        self.class_names = list(metadata["class_names"])
        self.image_size = tuple(metadata["image_size"])
        self.multi_label = bool(metadata.get("multi_label", False))
        self.top_k = int(metadata.get("top_k", len(self.class_names)))
        self.threshold = threshold
        self._saved_model = saved_model
        self._serve_images = saved_model.signatures[SERVING_IMAGES]
        self._serve_pixels = saved_model.signatures[SERVING_PIXELS]

    def __repr__(self) -> str:
        return f"Predictor({str(self.directory)!r}, classes={self.class_names}, image_size={self.image_size})"

    def predict(
        self,
        inputs: Any,
        top_k: int | None = None,
        as_dataframe: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict] | Any:
        """Classifies one input or many.

        Args:
            inputs: a file path, encoded image bytes (JPEG/PNG/GIF/BMP/WebP), a PIL
                image, a numpy array of RGB pixels in 0–255 (height, width, 3)
                or a batch of them (N, height, width, 3), or a list mixing
                these. Pixels of another size are resized to `image_size`.
            top_k: classes listed in each result's `top_k` (default: the
                export's `top_k`; at most the number of classes).
            as_dataframe: return a pandas DataFrame, one row per input.
            batch_size: images per call to the SavedModel.

        Returns:
            One dict per input, in order: `input` (the path, or e.g.
            `"bytes[0]"`), `class_name`, `probability` and `top_k` (a list
            of `{"class_name", "probability"}`); multi-label results also
            have `labels` (the labels at or above `threshold`). With
            `as_dataframe=True`, a DataFrame with these columns.

        Raises:
            TypeError: an unsupported input type.
            FileNotFoundError: a path that does not exist.
            IsADirectoryError: a folder was given (use `predict_dir`).
            ValueError: bytes that are not an image, or badly shaped pixels.
        """
        items = [_normalise(item, name) for name, item in _named_inputs(inputs)]
        probabilities = self.probabilities_for(items, batch_size)
        results = self._results(items, probabilities, self._top_k(top_k))
        return _as_dataframe(results) if as_dataframe else results

    def predict_dir(
        self,
        folder: str | os.PathLike,
        top_k: int | None = None,
        as_dataframe: bool = False,
        recursive: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict] | Any:
        """Classifies every image file (`IMAGE_EXTENSIONS`: .jpg .png .gif .bmp .webp …, any case) in a folder.

        Args:
            folder: the folder.
            top_k: as in `predict`.
            as_dataframe: as in `predict`.
            recursive: include sub-folders.
            batch_size: images per call to the SavedModel.

        Returns:
            As `predict`, for the files in sorted path order.

        Raises:
            FileNotFoundError: the folder does not exist.
            NotADirectoryError: `folder` is a file (use `predict`).
            ValueError: the folder holds no image files.
        """
        files = image_files(folder, recursive)
        return self.predict(files, top_k=top_k, as_dataframe=as_dataframe, batch_size=batch_size)

    def predict_probabilities(self, inputs: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """The probabilities (N, num_classes) for `inputs` (the same inputs as `predict`)."""
        items = [_normalise(item, name) for name, item in _named_inputs(inputs)]
        return self.probabilities_for(items, batch_size)

    def probabilities_for(self, items: Sequence[_Item], batch_size: int) -> np.ndarray:
        """Runs the signatures: encoded items through `serving_default`, pixels through `serving_pixels`."""
        output = np.zeros((len(items), len(self.class_names)), np.float32)
        encoded = [index for index, item in enumerate(items) if item.encoded is not None]
        for chunk in _chunks(encoded, batch_size):
            output[chunk] = self._run_encoded([items[index] for index in chunk])
        by_shape: dict[tuple, list[int]] = {}
        for index, item in enumerate(items):
            if item.pixels is not None:
                by_shape.setdefault(item.pixels.shape, []).append(index)
        for indices in by_shape.values():
            for chunk in _chunks(indices, batch_size):
                pixels = np.stack([items[index].pixels for index in chunk])
                output[chunk] = self._serve_pixels(pixels=tf.constant(pixels))["probabilities"].numpy()
        return output

    def _run_encoded(self, items: Sequence[_Item]) -> np.ndarray:
        """`serving_default` on a batch of encoded images; names the first undecodable one."""
        try:
            images = tf.constant([item.encoded for item in items], dtype=tf.string)
            return self._serve_images(images=images)["probabilities"].numpy()
        except tf.errors.InvalidArgumentError as error:
            if len(items) > 1:
                for item in items:
                    self._run_encoded([item])
            detail = str(error.message).strip().splitlines()[0] if error.message else ""
            raise ValueError(
                f"Could not decode {items[0].name}: it is not a JPEG, PNG, GIF, BMP or WebP image ({detail})."
            ) from None

    def _top_k(self, top_k: int | None) -> int:
        if top_k is None:
            return min(self.top_k, len(self.class_names))
        if not isinstance(top_k, int) or not 1 <= top_k <= len(self.class_names):
            raise ValueError(f"top_k must be an integer from 1 to {len(self.class_names)}, got {top_k!r}.")
        return top_k

    def _results(self, items: Sequence[_Item], probabilities: np.ndarray, top_k: int) -> list[dict]:
        results = []
        for item, row in zip(items, probabilities):
            order = np.argsort(-row, kind="stable")[:top_k]
            ranked = [{"class_name": self.class_names[i], "probability": float(row[i])} for i in order]
            result = {"input": item.name, **ranked[0], "top_k": ranked}
            if self.multi_label:
                result["labels"] = [name for name, p in zip(self.class_names, row) if p >= self.threshold]
            results.append(result)
        return results


def image_files(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """The image files in `folder` (sorted), by extension (`IMAGE_EXTENSIONS`, any case); hidden files skipped.

    Raises:
        FileNotFoundError: no such folder.
        NotADirectoryError: `folder` is a file.
        ValueError: no image files in it.
    """
    root = Path(folder).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"No such folder: {root}.")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder: use predict() for single files.")
    files = list_images(root, recursive=recursive)
    if not files:
        where = "or its sub-folders " if recursive else ""
        raise ValueError(f"No image files ({' '.join(IMAGE_EXTENSIONS)}) in {root} {where}found.")
    return files


def _named_inputs(inputs: Any) -> list[tuple[str, Any]]:
    """Splits `inputs` into single items, each with a display name."""
    if isinstance(inputs, tf.Tensor):
        inputs = inputs.numpy()
    if isinstance(inputs, np.ndarray) and inputs.ndim == 4:
        return [(f"array[{index}]", image) for index, image in enumerate(inputs)]
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "SO" and inputs.ndim == 1:
        inputs = list(inputs)
    if isinstance(inputs, (list, tuple)):
        if not inputs:
            raise ValueError("predict() got an empty list: pass at least one image.")
        return [(_display_name(item, index), item) for index, item in enumerate(inputs)]
    return [(_display_name(inputs, 0), inputs)]


def _display_name(item: Any, index: int) -> str:
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    if isinstance(item, (bytes, bytearray, memoryview, np.bytes_)):
        return f"bytes[{index}]"
    if isinstance(item, np.ndarray):
        return f"array[{index}]"
    return f"{type(item).__name__}[{index}]"


def _normalise(item: Any, name: str) -> _Item:
    """Reads paths, keeps bytes, converts PIL images and arrays to float32 RGB pixels."""
    if isinstance(item, tf.Tensor):
        item = item.numpy()
    if isinstance(item, (str, os.PathLike)):
        return _Item(name, encoded=_read_image_file(Path(item)))
    if isinstance(item, (bytes, bytearray, memoryview, np.bytes_)):
        if not len(item):
            raise ValueError(f"{name} is empty: pass the bytes of a JPEG, PNG, GIF, BMP or WebP file.")
        return _Item(name, encoded=bytes(item))
    if _is_pil_image(item):
        return _Item(name, pixels=np.asarray(item.convert("RGB"), dtype=np.float32))
    if isinstance(item, np.ndarray):
        return _Item(name, pixels=_rgb_pixels(item, name))
    raise TypeError(f"Unsupported input {name} of type {type(item).__name__}: pass {_SUPPORTED_INPUTS}.")


def _read_image_file(path: Path) -> bytes:
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: use predict_dir() to classify the images in a folder.")
    if not path.is_file():
        raise FileNotFoundError(f"No such image file: {path}.")
    return path.read_bytes()


def _is_pil_image(item: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:
        return False
    return isinstance(item, Image.Image)


def _rgb_pixels(array: np.ndarray, name: str) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) numeric pixels as float32 (H, W, 3)."""
    if array.dtype.kind not in "uif" and array.dtype != np.bool_:
        raise TypeError(f"{name} has dtype {array.dtype}: pixels must be numbers (uint8 or float 0-255).")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or 0 in array.shape:
        raise ValueError(
            f"{name} has shape {array.shape}: pass RGB pixels shaped (height, width, 3) or a batch "
            "(N, height, width, 3)."
        )
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 4:
        array = array[..., :3]
    pixels = array.astype(np.float32)
    if array.dtype.kind == "f" and pixels.size and 0 <= pixels.min() and pixels.max() <= 1.0:
        warnings.warn(
            f"{name} holds floats in 0-1; the model expects pixels in 0-255. Multiply by 255 if they were scaled.",
            stacklevel=4,
        )
    return pixels


def _chunks(indices: Sequence[int], size: int) -> Iterable[list[int]]:
    if size < 1:
        raise ValueError(f"batch_size must be at least 1, got {size}.")
    for start in range(0, len(indices), size):
        yield list(indices[start : start + size])


def _as_dataframe(results: list[dict]) -> Any:
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError("as_dataframe=True needs pandas: pip install pandas.") from error
    return pd.DataFrame(results)


def run_tflite(model_path: str | os.PathLike, pixels: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Runs a TFLite classifier from `keras_transfer.export` on pixels.

    Quantised (uint8/int8) inputs and outputs are handled with the file's own
    scale and zero point.

    Args:
        model_path: a `.tflite` file.
        pixels: RGB pixels 0–255, (N, height, width, 3) or one (height, width, 3);
            resized to the model's input size when needed.
        batch_size: images per invocation.

    Returns:
        float32 probabilities (N, num_classes).

    Example:
        >>> probabilities = run_tflite("exports/shapes/tflite/model_int8.tflite", images)
    """
    interpreter = tflite_interpreter(model_path)
    input_details = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[None]
    height, width = (int(size) for size in input_details["shape"][1:3])
    if pixels.shape[1:3] != (height, width):
        pixels = resize_pixels(pixels, (height, width)).numpy()
    outputs = []
    for start in range(0, len(pixels), batch_size):
        chunk = _quantise(pixels[start : start + batch_size], input_details)
        interpreter.resize_tensor_input(input_details["index"], list(chunk.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_details["index"], chunk)
        interpreter.invoke()
        output_details = next(d for d in interpreter.get_output_details() if d["index"] == output_index)
        outputs.append(_dequantise(interpreter.get_tensor(output_index), output_details))
    return np.concatenate(outputs)


def tflite_interpreter(model_path: str | os.PathLike) -> Any:
    """A TFLite interpreter: LiteRT's (`ai_edge_litert`) when installed, else TensorFlow's."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        with warnings.catch_warnings():
            # TensorFlow's interpreter warns that it moves to ai_edge_litert; it still works.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            return tf.lite.Interpreter(model_path=str(model_path))
    return Interpreter(model_path=str(model_path))


def _quantise(values: np.ndarray, details: dict) -> np.ndarray:
    dtype = np.dtype(details["dtype"])
    if dtype.kind == "f":
        return values.astype(dtype)
    scale, zero_point = details["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantise(values: np.ndarray, details: dict) -> np.ndarray:
    if np.dtype(details["dtype"]).kind == "f":
        return values.astype(np.float32)
    scale, zero_point = details["quantization"]
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)
