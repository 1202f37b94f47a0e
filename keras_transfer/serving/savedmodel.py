"""The SavedModel: the serving `tf.Module`, its signatures, the TPU functions, saving, and the parity check.

Signatures:

- `serving_default`: `images`, a batch of encoded images (`tf.string`),
  decoded and resized in the graph with the same `decode_image` as training.
- `serving_pixels`: `pixels`, float32 RGB 0–255 of any size (resized in the graph).
- `serving_tpu` (optional): like `serving_default` for a static batch size,
  whose model part is the XLA-compiled function saved under the alias `tpu_func`.

Each returns `probabilities` plus the top-k `class_ids`, `class_names` and
`scores`, so a client needs neither this package nor Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.data.images import decode_image, resize_pixels
from keras_transfer.serving.inference import SERVING_IMAGES, SERVING_PIXELS
from keras_transfer.serving.spec import ServingSpec

SERVING_TPU = "serving_tpu"
TPU_FUNCTION_ALIAS = "tpu_func"
DEFAULT_TPU_BATCH_SIZE = 8
# The exported SavedModel must reproduce the in-memory model to this tolerance.
PARITY_TOLERANCE = 1e-4


def resolve_accelerator(accelerator: str | Mapping | None) -> int | None:
    """The static TPU batch size for `accelerator`, or None for no TPU signature.

    Args:
        accelerator: None, `"tpu"`, or `{"type": "tpu", "batch_size": 8}`.

    Returns:
        The TPU batch size (`DEFAULT_TPU_BATCH_SIZE` unless given), or None.

    Raises:
        ValueError: another accelerator, unknown options or a bad batch size.

    Example:
        >>> resolve_accelerator("tpu"), resolve_accelerator({"type": "tpu", "batch_size": 16})
        (8, 16)
    """
    if accelerator is None:
        return None
    options = {"type": accelerator} if isinstance(accelerator, str) else dict(accelerator)
    kind = str(options.pop("type", "")).lower()
    batch_size = options.pop("batch_size", DEFAULT_TPU_BATCH_SIZE)
    if kind != "tpu" or options:
        raise ValueError(
            f"Unsupported accelerator {accelerator!r}: use accelerator='tpu' or "
            "{'type': 'tpu', 'batch_size': 8}."
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"The TPU batch_size must be a positive integer, got {batch_size!r}.")
    return batch_size


# --------------------------------------------------------------------------- graph pieces


def to_probabilities(outputs: tf.Tensor, binary: bool) -> tf.Tensor:
    """The model's outputs as float32 probabilities; one binary sigmoid becomes [1 - p, p].

    Args:
        outputs: the model's outputs (batch, units).
        binary: the model has one sigmoid unit for two classes.

    Returns:
        float32 probabilities (batch, classes).

    Example:
        >>> to_probabilities(tf.constant([[0.8]]), binary=True).numpy()
        array([[0.19999999, 0.8       ]], dtype=float32)
    """
    outputs = tf.cast(outputs, tf.float32)
    if binary:
        return tf.concat([1.0 - outputs, outputs], axis=-1)
    return outputs


def top_k_outputs(probabilities: tf.Tensor, spec: ServingSpec) -> dict[str, tf.Tensor]:
    """The serving outputs: probabilities plus top-k class ids, names and scores.

    Args:
        probabilities: float32 (batch, classes).
        spec: the `ServingSpec` (class names and `top_k`).

    Returns:
        `{"probabilities", "class_ids" (int32), "class_names" (string), "scores"}`.

    Example:
        >>> top_k_outputs(tf.constant([[0.1, 0.9]]), spec)["class_names"].numpy()
        array([[b'dog', b'cat']], dtype=object)
    """
    scores, ids = tf.math.top_k(probabilities, k=spec.top_k, sorted=True)
    names = tf.gather(tf.constant(list(spec.class_names), dtype=tf.string), ids)
    return {
        "probabilities": probabilities,
        "class_ids": tf.cast(ids, tf.int32),
        "class_names": names,
        "scores": scores,
    }


def decode_images(images: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Decodes a batch of encoded images with `decode_image`, to float32 (batch, height, width, 3).

    Args:
        images: `tf.string` (batch,) of encoded JPEG/PNG/GIF/BMP/WebP images.
        image_size: (height, width) to resize to.
        method: the `tf.image.resize` method.

    Returns:
        float32 pixels 0–255 (batch, height, width, 3).

    Example:
        >>> decode_images(tf.constant([png]), (32, 32)).shape
        TensorShape([1, 32, 32, 3])
    """
    return tf.map_fn(
        lambda encoded: decode_image(encoded, image_size, method),
        images,
        fn_output_signature=tf.TensorSpec((*image_size, 3), tf.float32),
    )


def fit_pixels(pixels: tf.Tensor, image_size: tuple[int, int], method: str = "bilinear") -> tf.Tensor:
    """Float32 pixels of `image_size`: left as they are when the size matches, else resized like training.

    Args:
        pixels: (batch, height, width, 3) pixels of any size and dtype.
        image_size: (height, width) the model takes.
        method: the `tf.image.resize` method.

    Returns:
        float32 (batch, *image_size, 3).

    Example:
        >>> fit_pixels(tf.zeros((2, 48, 40, 3)), (32, 32)).shape
        TensorShape([2, 32, 32, 3])
    """
    pixels = tf.cast(pixels, tf.float32)
    shape = tf.shape(pixels)
    same_size = tf.logical_and(tf.equal(shape[1], image_size[0]), tf.equal(shape[2], image_size[1]))
    fitted = tf.cond(same_size, lambda: pixels, lambda: resize_pixels(pixels, image_size, method))
    return tf.ensure_shape(fitted, [None, *image_size, 3])


def probability_function(model: keras.Model, spec: ServingSpec) -> Any:
    """A `tf.function`: float32 pixels (batch, height, width, 3) → `{"probabilities": ...}`, for TFLite and ONNX.

    Args:
        model: the classifier.
        spec: its `ServingSpec`.

    Returns:
        The `tf.function`, with the input signature of the model's image size.

    Example:
        >>> probability_function(model, spec)(tf.zeros((1, 32, 32, 3)))["probabilities"].shape
        TensorShape([1, 3])
    """
    height, width = spec.image_size

    @tf.function(input_signature=[tf.TensorSpec([None, height, width, 3], tf.float32, name="pixels")])
    def probabilities(pixels):
        return {"probabilities": to_probabilities(model(pixels, training=False), spec.binary)}

    return probabilities


# --------------------------------------------------------------------------- the module and its file


def build_serving_module(
    model: keras.Model,
    spec: ServingSpec,
    *,
    tpu_batch_size: int | None = None,
    labels_file: Path | None = None,
) -> tf.Module:
    """A `tf.Module` with the serving functions, ready for `tf.saved_model.save`.

    The module tracks only the variables its functions capture (like
    `keras.export.ExportArchive`), not the Keras objects, so the SavedModel
    loads without Keras, and with TF1-style session loaders such as TF Serving.

    Args:
        model: the classifier.
        spec: its `ServingSpec`.
        tpu_batch_size: add the TPU functions for this static batch size.
        labels_file: `labels.txt`, stored as a SavedModel asset.

    Returns:
        A module with `serve_images` and `serve_pixels` and, for TPU,
        `tpu_func` and `serve_tpu`.

    Example:
        >>> module = build_serving_module(model, serving_spec(model, names))
        >>> module.serve_images(tf.constant([png]))["class_names"]
    """
    module = tf.Module(name="keras_transfer_serving")
    if labels_file is not None:
        module.labels = tf.saved_model.Asset(str(labels_file))

    def compute(pixels):
        return to_probabilities(model(pixels, training=False), spec.binary)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def serve_images(images):
        return top_k_outputs(compute(decode_images(images, spec.image_size, spec.resize_method)), spec)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="pixels")])
    def serve_pixels(pixels):
        return top_k_outputs(compute(fit_pixels(pixels, spec.image_size, spec.resize_method)), spec)

    module.serve_images = serve_images
    module.serve_pixels = serve_pixels
    functions = [serve_images, serve_pixels]
    if tpu_batch_size:
        functions += _add_tpu_functions(module, compute, spec, tpu_batch_size)
    module.captured_variables = captured_variables(functions)
    return module


def captured_variables(functions: Sequence[Any]) -> list[tf.Variable]:
    """The TensorFlow variables the functions' graphs read, each once.

    Tracking these (rather than the Keras variables that wrap them) writes
    them into the SavedModel's checkpoint under the names the graphs use,
    which TF1-style loaders (TF Serving, `saved_model_cli run`) need.

    Args:
        functions: `tf.function`s with an input signature.

    Returns:
        The variables, in first-use order.

    Example:
        >>> module.captured_variables = captured_variables([serve_images, serve_pixels])
    """
    found = {}
    for function in functions:
        for variable in function.get_concrete_function().variables:
            found.setdefault(id(variable), variable)
    return list(found.values())


def _add_tpu_functions(module: tf.Module, compute: Callable, spec: ServingSpec, batch_size: int) -> list:
    """Adds `tpu_func` (static shape, XLA-compiled model) and `serve_tpu` (CPU decoding → `tpu_func`)."""
    height, width = spec.image_size

    @tf.function(
        input_signature=[tf.TensorSpec([batch_size, height, width, 3], tf.float32, name="pixels")],
        jit_compile=True,
    )
    def tpu_func(pixels):
        return compute(pixels)

    @tf.function(input_signature=[tf.TensorSpec([batch_size], tf.string, name="images")])
    def serve_tpu(images):
        pixels = decode_images(images, spec.image_size, spec.resize_method)
        pixels = tf.ensure_shape(pixels, [batch_size, height, width, 3])
        return top_k_outputs(tpu_func(pixels), spec)

    module.tpu_func = tpu_func
    module.serve_tpu = serve_tpu
    return [tpu_func, serve_tpu]


def save_serving_module(module: tf.Module, path: Path, spec: ServingSpec) -> None:
    """Saves the module as a SavedModel with the serving signatures (and TPU options when present).

    Args:
        module: from `build_serving_module`.
        path: the SavedModel folder to write.
        spec: the `ServingSpec`.

    Returns:
        None; the SavedModel is at `path`.

    Example:
        >>> save_serving_module(build_serving_module(model, spec), Path("out/saved_model"), spec)
    """
    signatures = {
        SERVING_IMAGES: module.serve_images.get_concrete_function(),
        SERVING_PIXELS: module.serve_pixels.get_concrete_function(),
    }
    options = None
    if hasattr(module, "tpu_func"):
        signatures[SERVING_TPU] = module.serve_tpu.get_concrete_function()
        # The alias lets TPU converters find the function to place on the TPU;
        # experimental_io_device keeps variable I/O on the host when saving from a TPU worker.
        options = tf.saved_model.SaveOptions(
            function_aliases={TPU_FUNCTION_ALIAS: module.tpu_func},
            experimental_io_device="/job:localhost",
        )
    tf.saved_model.save(module, str(path), signatures=signatures, options=options)


# --------------------------------------------------------------------------- parity


def verify_saved_model(path: Path, model: keras.Model, spec: ServingSpec, pixels: np.ndarray) -> dict:
    """Reloads the SavedModel and checks both signatures against the in-memory model.

    The pixels are fed to `serving_pixels` as they are and to `serving_default`
    as lossless PNGs.

    Args:
        path: the SavedModel folder.
        model: the in-memory classifier it was saved from.
        spec: the `ServingSpec`.
        pixels: float32 pixels (N, height, width, 3) to compare on.

    Returns:
        `{"max_abs_diff": ..., "images_checked": N}` over both signatures.

    Raises:
        RuntimeError: when they differ by more than `PARITY_TOLERANCE`.

    Example:
        >>> verify_saved_model(Path("out/saved_model"), model, spec, probe_pixels((32, 32)))["max_abs_diff"] < 1e-4
        True
    """
    loaded = tf.saved_model.load(str(path))
    pixels = np.clip(np.round(pixels), 0, 255).astype(np.float32)
    expected = probabilities_from_model(model, pixels, spec.binary)
    from_pixels = loaded.signatures[SERVING_PIXELS](pixels=tf.constant(pixels))["probabilities"].numpy()
    encoded = tf.stack([tf.io.encode_png(tf.constant(image, tf.uint8)) for image in pixels.astype(np.uint8)])
    from_images = loaded.signatures[SERVING_IMAGES](images=encoded)["probabilities"].numpy()
    diff = float(max(np.abs(from_pixels - expected).max(), np.abs(from_images - expected).max()))
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(
            f"The exported SavedModel disagrees with the in-memory model by {diff:.2e} "
            f"(tolerance {PARITY_TOLERANCE:.0e}); the export was not written. Please report this "
            "with the model's backbone and Keras/TensorFlow versions."
        )
    return {"max_abs_diff": diff, "images_checked": len(pixels)}


def probabilities_from_model(model: keras.Model, pixels: np.ndarray, binary: bool, batch_size: int = 64) -> np.ndarray:
    """The in-memory model's probabilities (binary expanded to two columns) for float pixels.

    Args:
        model: the classifier.
        pixels: float32 pixels (N, height, width, 3).
        binary: the model has one sigmoid unit for two classes.
        batch_size: images per call.

    Returns:
        (N, classes) probabilities.

    Example:
        >>> probabilities_from_model(model, x_val.astype("float32"), binary=False).shape
        (60, 3)
    """
    outputs = [
        to_probabilities(model(pixels[start : start + batch_size], training=False), binary).numpy()
        for start in range(0, len(pixels), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), np.float32)


def probe_pixels(image_size: tuple[int, int], count: int = 4) -> np.ndarray:
    """Seeded random pixels, for the parity check when there is no validation data.

    Args:
        image_size: (height, width).
        count: how many images.

    Returns:
        float32 pixels 0–255 (count, height, width, 3), the same on every call.

    Example:
        >>> probe_pixels((32, 32)).shape
        (4, 32, 32, 3)
    """
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(count, *image_size, 3)).astype(np.float32)
