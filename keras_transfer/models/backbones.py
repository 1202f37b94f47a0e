"""The registry of backbones: every `keras.applications` constructor, and users' own models.

Each entry knows how to build its backbone without a classification top, which
preprocessing it needs (baked into the model by `build_model`), its default and
minimum input size, and how to cut its layers into ordered, named blocks for
staged unfreezing.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import keras

from keras_transfer.models.preprocessing import PREPROCESSING_MODES, BackbonePreprocessing

# A block rule maps the backbone's layers (in order) to one marker per layer: a
# block name where a layer marks a block, else None. In "start" mode a block
# begins at the first layer marked with its name; in "end" mode it ends at the
# last one. Layers before the first block form "stem", layers after the last
# "end" block form "top".
BlockRule = Callable[[Sequence[keras.layers.Layer]], list]
# `"mobilenet:block9"` names MobileNet up to the end of its block9 (see `BackboneSpec.truncated`); Keras model
# names cannot hold ":", so models built from it are named `"mobilenet_to_block9..."`.
BLOCK_SEPARATOR = ":"
MODEL_NAME_SEPARATOR = "_to_"


@dataclass(frozen=True)
class Block:
    """A named, contiguous run of a backbone's layers, ordered from input to output."""

    name: str
    layers: tuple

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]


@dataclass(frozen=True)
class BackboneSpec:
    """Everything keras_transfer needs to know about one backbone.

    Attributes:
        name: the registry key (lower case), e.g. `"efficientnetv2b0"`.
        constructor: builds the backbone; called with `include_top=False`,
            `weights` and `input_shape` (or returns the user's model as is).
        preprocessing: a `BackbonePreprocessing` mode, or a callable/layer for
            a user's own backbone.
        default_size: the input size the pretrained weights were trained at.
        min_size: the smallest input size the architecture accepts.
        block_rule: how to cut the backbone's layers into blocks.
        block_mode: `"start"` or `"end"` (see `BlockRule`).
        preprocess_input: the Keras module's own `preprocess_input`, which the
            baked-in preprocessing reproduces (used by the tests and docs).
        output_block: the block whose output the backbone ends at (None: the
            whole network); see `truncated`.
    """

    name: str
    constructor: Callable[..., keras.Model]
    preprocessing: object
    default_size: int
    min_size: int
    block_rule: BlockRule
    block_mode: str = "start"
    preprocess_input: Callable | None = None
    keras_name: str = ""
    user_model: keras.Model | None = field(default=None, compare=False, repr=False)
    output_block: str | None = None

    @property
    def model_name(self) -> str:
        """The name as Keras model and scope names allow it (`"mobilenet_to_block9"` for `"mobilenet:block9"`)."""
        return self.name.replace(BLOCK_SEPARATOR, MODEL_NAME_SEPARATOR)

    def truncated(self, block: str) -> BackboneSpec:
        """This backbone up to the end of `block`: its earlier, more general features (Yosinski et al. 2014).

        A network's last blocks specialise in the task it was trained on; when a new task looks unlike it (digits
        for an ImageNet network, small images), a middle block's features often transfer better. The truncated
        backbone loads the same weights (the whole network is built, then cut), keeps the same preprocessing,
        and its blocks are the blocks up to `block`, so staged unfreezing works as usual. Its name,
        `"<name>:<block>"`, is what `build_and_fit(backbone=...)` and configs take.

        Args:
            block: a block name of `blocks()` (MobileNet: `"block1"`..`"block13"`; VGG16: `"block1"`..`"block5"`).

        Returns:
            A new `BackboneSpec`; an unknown block is reported when the backbone is built (it needs the layers).

        Example:
            >>> get_backbone("mobilenet").truncated("block9").name
            'mobilenet:block9'
        """
        if not block or BLOCK_SEPARATOR in block:
            raise ValueError(f"A block name is needed to truncate {self.name!r} (e.g. 'block9'), got {block!r}.")
        base = self.name.split(BLOCK_SEPARATOR, 1)[0]
        return dataclasses.replace(self, name=f"{base}{BLOCK_SEPARATOR}{block}", output_block=block)

    def build(self, image_size: int | tuple[int, int], weights: str | None) -> keras.Model:
        """Builds the backbone (no top) for `image_size`, with `weights` (cut at `output_block` if set).

        A truncated backbone takes a weights file of the whole network (a `keras.applications` file) or of the
        truncated one (saved from a truncated run, as `meta_train` does).
        """
        if not self.output_block:
            return self._build_whole(image_size, weights)
        if weights in (None, "imagenet") or (self.user_model is not None and not _names_a_file(weights)):
            return self._cut(self._build_whole(image_size, weights))
        self._check_weights_file(weights)
        whole = self._build_whole(image_size, None)
        cut = self._cut(whole)
        try:
            with warnings.catch_warnings():  # a truncated network's file warns of each layer it lacks, then fails
                warnings.simplefilter("ignore")
                whole.load_weights(weights)
        except Exception as whole_error:  # Keras raises ValueError or KeyError by format: try the cut network
            try:
                cut.load_weights(weights)
            except Exception as cut_error:
                reasons = [str(error).splitlines()[0][:160] for error in (whole_error, cut_error)]
                raise ValueError(f"{weights!r} holds weights of neither {self.keras_name} ({reasons[0]}) nor of "
                                 f"{self.name} ({reasons[1]}): pass a weights file of one of them.") from cut_error
        return cut

    def _cut(self, model: keras.Model) -> keras.Model:
        """`model` up to the last layer of `output_block`, sharing its layers (and weights)."""
        blocks = {block.name: block for block in self.blocks(model)}
        if self.output_block not in blocks:
            raise ValueError(f"{self.keras_name or self.name} has no block {self.output_block!r} to end at: its "
                             f"blocks are {list(blocks)}.")
        output = blocks[self.output_block].layers[-1].output
        if len(output.shape) != 4:
            raise ValueError(f"Block {self.output_block!r} of {self.keras_name or self.name} does not end in a "
                             f"feature map (its output has shape {tuple(output.shape)}): choose an earlier block.")
        return keras.Model(model.inputs, output, name=model.name)

    def _check_weights_file(self, weights: str | None) -> None:
        if weights not in (None, "imagenet") and not os.path.exists(str(weights)):
            if self.user_model is not None:
                raise FileNotFoundError(
                    f"weights file {weights!r} does not exist: pass weights='imagenet' to use the custom "
                    f"backbone {self.name!r} with its own weights, weights=None to train it from scratch, or the "
                    "path of a file saved from it (model.save_weights).")
            raise FileNotFoundError(
                f"weights file {weights!r} does not exist: pass weights='imagenet' to download "
                "Keras' ImageNet weights, weights=None to train from scratch, or the path of a "
                f"{self.keras_name} weights file (include_top=False)."
            )

    def _build_whole(self, image_size: int | tuple[int, int], weights: str | None) -> keras.Model:
        height, width = size_pair(image_size)
        if self.user_model is not None:
            # The user's model carries its own weights (any label but a file: "imagenet", "given"); from scratch
            # means the same architecture freshly initialised (a clone), and a weights file is loaded into a
            # clone: never into the user's model itself, which another model may be using.
            if weights is None:
                return keras.models.clone_model(self.user_model)
            if not _names_a_file(weights):
                return _in_current_strategy(self.user_model)
            self._check_weights_file(weights)
            copy = keras.models.clone_model(self.user_model)
            try:
                copy.load_weights(weights)
            except Exception as error:  # Keras raises ValueError or KeyError by format
                raise ValueError(f"{weights!r} does not hold weights of the custom backbone {self.name!r} "
                                 f"({str(error).splitlines()[0][:160]}): pass a file saved from this architecture "
                                 "(model.save_weights), or weights='imagenet' to use the model's own weights."
                                 ) from error
            return copy
        smallest = min(height, width)
        if smallest < self.min_size:
            raise ValueError(
                f"image_size {height}x{width} is smaller than {self.keras_name}'s minimum of "
                f"{self.min_size}x{self.min_size}: pass image_size={self.min_size} or larger "
                f"(its pretrained default is {self.default_size})."
            )
        self._check_weights_file(weights)
        try:
            return self.constructor(
                include_top=False, weights=weights, input_shape=(height, width, 3)
            )
        except Exception as error:  # Keras raises plain Exception on download failure
            if weights == "imagenet" and _looks_like_download_failure(error):
                raise RuntimeError(_download_failure_message(self, error)) from error
            raise

    def blocks(self, backbone: keras.Model) -> list[Block]:
        """Cuts `backbone`'s layers into ordered, named blocks."""
        return segment_layers(backbone.layers, self.block_rule(backbone.layers), self.block_mode)

    def preprocessing_layer(self) -> keras.layers.Layer:
        """A fresh layer applying this backbone's preprocessing to 0–255 RGB pixels."""
        if isinstance(self.preprocessing, str):
            return BackbonePreprocessing(self.preprocessing, name="preprocessing")
        if isinstance(self.preprocessing, keras.layers.Layer):
            return self.preprocessing
        return keras.layers.Lambda(self.preprocessing, name="preprocessing")


def segment_layers(layers: Sequence, markers: Sequence, mode: str = "start") -> list[Block]:
    """Cuts `layers` into contiguous named blocks from per-layer `markers`.

    Args:
        layers: the layers, in the model's (topological) order.
        markers: one entry per layer: a block name, or None.
        mode: `"start"`: a block begins at the first layer marked with its
            name. `"end"`: a block ends at the last layer marked with its name.

    Returns:
        Blocks that together hold every layer exactly once, in order.
    """
    if mode not in ("start", "end"):
        raise ValueError(f"mode must be 'start' or 'end', got {mode!r}")
    bounds: list[tuple[int, str]] = []  # (index of the block's first layer, name)
    if mode == "start":
        seen = set()
        for index, marker in enumerate(markers):
            if marker is not None and marker not in seen:
                seen.add(marker)
                bounds.append((index, marker))
        leading = layers[: bounds[0][0]] if bounds else layers
        if not bounds or (bounds[0][1] != "stem" and any(layer.weights for layer in leading)):
            bounds.insert(0, (0, "stem"))
        else:  # the leading layers join the first block (the stem, or the input alone)
            bounds[0] = (0, bounds[0][1])
    else:
        last = {marker: index for index, marker in enumerate(markers) if marker is not None}
        start = 0
        for marker, end in sorted(last.items(), key=lambda item: item[1]):
            if end >= start:
                bounds.append((start, marker))
                start = end + 1
        if start < len(layers):
            bounds.append((start, "top"))
    blocks = []
    for position, (begin, name) in enumerate(bounds):
        end = bounds[position + 1][0] if position + 1 < len(bounds) else len(layers)
        if end > begin:
            blocks.append(Block(name, tuple(layers[begin:end])))
    return blocks


def _regex_rule(*patterns: tuple[str, str]) -> BlockRule:
    """A rule from `(regex, template)` pairs: the first match names the layer's block."""
    compiled = [(re.compile(pattern), template) for pattern, template in patterns]

    def rule(layers):
        markers = []
        for layer in layers:
            marker = None
            for pattern, template in compiled:
                match = pattern.search(layer.name)
                if match:
                    marker = match.expand(template)
                    break
            markers.append(marker)
        return markers

    return rule


def _inception_rule(*patterns: tuple[str, str]) -> BlockRule:
    """End-mode rule for the Inception family: the stem ends at the second max-pooling."""
    named = _regex_rule(*patterns)

    def rule(layers):
        markers = named(layers)
        pools = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.MaxPooling2D)]
        if len(pools) >= 2 and all(m is None for m in markers[: pools[1] + 1]):
            markers[pools[1]] = "stem"
        return markers

    return rule


def _convnext_rule(layers):
    markers = []
    for layer in layers:
        stage = re.search(r"_stage_(\d+)_", layer.name)
        down = re.search(r"_downsampling_block_(\d+)", layer.name)
        if stage:
            markers.append(f"stage{stage.group(1)}")
        elif down:  # the downsampling layer opens the next stage
            markers.append(f"stage{int(down.group(1)) + 1}")
        elif layer.name.endswith("_stem"):
            markers.append("stem")
        else:
            markers.append(None)
    return markers


_BLOCKN = _regex_rule((r"^block(\d+)", r"block\1"), (r"^stem_", "stem"), (r"^top_", "top"))
_RESNET = _regex_rule((r"^(?:conv|pool)(\d)_", r"conv\1"), (r"^post_", "top"))
_MOBILENET = _regex_rule((r"^conv_(?:dw|pw|pad)_(\d+)", r"block\1"))
_MOBILENET_V2 = _regex_rule(
    (r"^block_(\d+)_", r"block\1"), (r"^expanded_conv_", "block0"), (r"^(?:Conv_1|out_relu)", "top")
)
_MOBILENET_V3 = _regex_rule(
    (r"^expanded_conv_(\d+)_", r"block\1"), (r"^expanded_conv_", "block0"), (r"^conv_1", "top")
)
_NASNET = _regex_rule(
    (r"^stem_", "stem"),
    (r"(?:normal|reduction|adjust).*?_(stem_\d|reduce_\d+|\d+)$", r"cell_\1"),
)
_INCEPTION_V3 = _inception_rule((r"^(mixed\d+)$", r"\1"))
_INCEPTION_RESNET_V2 = _inception_rule(
    (r"^(mixed_\w+)$", r"\1"),
    (r"^(block35|block17|block8)_\d+_(?:ac|conv)$", r"\1"),
)

# The generic rule for a user's own model without a block list: every family's
# patterns, in turn.
_ALL_PATTERNS = _regex_rule(
    (r"_stage_(\d+)_", r"stage\1"),
    (r"^block_?(\d+)", r"block\1"),
    (r"^(?:conv|pool)(\d)_", r"conv\1"),
    (r"^conv_(?:dw|pw|pad)_(\d+)", r"block\1"),
    (r"^expanded_conv_(\d+)_", r"block\1"),
    (r"^(mixed\d+)", r"\1"),
    (r"^stem", "stem"),
    (r"^top_", "top"),
)

_APPS = keras.applications

# (constructor name, module, preprocessing, default size, min size, rule, mode)
_TABLE = [
    *[
        (f"ConvNeXt{size}", "convnext", "none", 224, 32, _convnext_rule, "start")
        for size in ("Tiny", "Small", "Base", "Large", "XLarge")
    ],
    *[(f"DenseNet{n}", "densenet", "torch", 224, 32, _RESNET, "start") for n in (121, 169, 201)],
    *[
        (f"EfficientNetB{i}", "efficientnet", "none", size, 32, _BLOCKN, "start")
        for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))
    ],
    *[
        (f"EfficientNetV2{v}", "efficientnet_v2", "none", size, 32, _BLOCKN, "start")
        for v, size in (("B0", 224), ("B1", 240), ("B2", 260), ("B3", 300), ("S", 384), ("M", 480), ("L", 480))
    ],
    ("InceptionResNetV2", "inception_resnet_v2", "tf", 299, 75, _INCEPTION_RESNET_V2, "end"),
    ("InceptionV3", "inception_v3", "tf", 299, 75, _INCEPTION_V3, "end"),
    ("MobileNet", "mobilenet", "tf", 224, 32, _MOBILENET, "start"),
    ("MobileNetV2", "mobilenet_v2", "tf", 224, 32, _MOBILENET_V2, "start"),
    ("MobileNetV3Small", "mobilenet_v3", "none", 224, 32, _MOBILENET_V3, "start"),
    ("MobileNetV3Large", "mobilenet_v3", "none", 224, 32, _MOBILENET_V3, "start"),
    ("NASNetMobile", "nasnet", "tf", 224, 32, _NASNET, "start"),
    ("NASNetLarge", "nasnet", "tf", 331, 32, _NASNET, "start"),
    *[(f"ResNet{n}", "resnet", "caffe", 224, 32, _RESNET, "start") for n in (50, 101, 152)],
    *[(f"ResNet{n}V2", "resnet_v2", "tf", 224, 32, _RESNET, "start") for n in (50, 101, 152)],
    ("VGG16", "vgg16", "caffe", 224, 32, _BLOCKN, "start"),
    ("VGG19", "vgg19", "caffe", 224, 32, _BLOCKN, "start"),
    ("Xception", "xception", "tf", 299, 71, _BLOCKN, "start"),
]

REGISTRY: dict[str, BackboneSpec] = {
    keras_name.lower(): BackboneSpec(
        name=keras_name.lower(),
        constructor=getattr(_APPS, keras_name),
        preprocessing=mode,
        default_size=default,
        min_size=minimum,
        block_rule=rule,
        block_mode=block_mode,
        preprocess_input=getattr(_APPS, module).preprocess_input,
        keras_name=keras_name,
    )
    for keras_name, module, mode, default, minimum, rule, block_mode in _TABLE
}


def list_backbones() -> list[str]:
    """Names of every registered backbone, as `build_and_fit(backbone=...)` takes them.

    Returns:
        Sorted lower-case names, e.g. `["convnextbase", ..., "xception"]`.

    Example:
        >>> "efficientnetv2b0" in keras_transfer.list_backbones()
        True
    """
    return sorted(REGISTRY)


def get_backbone(name: str) -> BackboneSpec:
    """Looks a backbone up by name, ignoring case, `-` and `_`; `"name:block"` ends it at a block.

    Args:
        name: e.g. `"EfficientNetV2B0"`, `"efficientnet_v2_b0"` or `"resnet50"`; `"mobilenet:block9"` is
            MobileNet up to the end of its block9 (`BackboneSpec.truncated`).

    Returns:
        The registry's `BackboneSpec`.

    Raises:
        ValueError: for an unknown name, with the closest matches.

    Example:
        >>> get_backbone("MobileNetV2").default_size
        224
    """
    name, separator, block = str(name).partition(BLOCK_SEPARATOR)
    if separator:
        return get_backbone(name).truncated(block.strip())
    key = re.sub(r"[-_\s]", "", name).lower()
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, REGISTRY, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown backbone {name!r}.{hint} keras_transfer.list_backbones() lists all "
        f"{len(REGISTRY)}; a keras.Model is accepted too (see custom_backbone)."
    )


def registry_spec_of_model(model_name: str) -> BackboneSpec | None:
    """The registry backbone a model named from `BackboneSpec.model_name` was built from, or None.

    Example:
        >>> registry_spec_of_model("mobilenet_to_block9").name
        'mobilenet:block9'
    """
    base, separator, block = model_name.partition(MODEL_NAME_SEPARATOR)
    spec = REGISTRY.get(base)
    return spec.truncated(block) if spec is not None and separator and block else spec


def custom_backbone(
    model: keras.Model,
    preprocessing: str | Callable | keras.layers.Layer = "none",
    blocks: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    name: str | None = None,
) -> BackboneSpec:
    """Wraps a user's own `keras.Model` so it can serve as a backbone.

    Args:
        model: a model mapping images to a feature map (B, H, W, C) or features (B, C).
        preprocessing: a `BackbonePreprocessing` mode (`"caffe"`, `"tf"`,
            `"torch"`, `"none"`), a Keras layer, or a plain callable applied to
            0–255 RGB pixels (a callable becomes a `Lambda` layer, which a saved
            model can only reload with `safe_mode=False`).
        blocks: `{block name: [layer names]}` in input-to-output order, or a
            list of layer names each starting a block. Default: blocks found
            from Keras-style layer names, else one block per layer with weights.
        name: a name for the spec (default: the model's name).

    Returns:
        A `BackboneSpec` that `build_model` and `build_and_fit` accept.

    Example:
        >>> spec = custom_backbone(my_cnn, preprocessing="tf", blocks=["conv1", "conv2"])
        >>> model = build_model(spec, num_classes=3)
    """
    if isinstance(preprocessing, str) and preprocessing not in PREPROCESSING_MODES:
        raise ValueError(
            f"Unknown preprocessing {preprocessing!r}: use one of {PREPROCESSING_MODES}, "
            "a keras Layer or a callable."
        )
    shape = model.input_shape
    size = shape[1] if isinstance(shape, tuple) and len(shape) == 4 and shape[1] else 32
    return BackboneSpec(
        name=name or model.name,
        constructor=lambda **_: model,
        preprocessing=preprocessing,
        default_size=size,
        min_size=1,
        block_rule=_user_block_rule(model, blocks),
        block_mode="start",
        keras_name=name or model.name,
        user_model=model,
    )


def _names_a_file(weights: object) -> bool:
    """Whether `weights` is a weights file's path (existing, or named like one), not a label such as "imagenet"."""
    text = str(weights)
    return os.path.exists(text) or text.endswith((".h5", ".keras", ".weights"))


def _in_current_strategy(model: keras.Model) -> keras.Model:
    """The user's model, or, inside a `tf.distribute` strategy's scope, a copy with its weights built there.

    A model built outside the scope has plain variables, which the strategy cannot train
    (`colocate_vars_with must only be passed a variable created in this tf.distribute.Strategy.scope()`).
    """
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return model
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _user_block_rule(model: keras.Model, blocks) -> BlockRule:
    names = {layer.name for layer in model.layers}
    if blocks is None:
        return generic_block_rule
    if isinstance(blocks, Mapping):
        owner = {layer: block for block, layer_names in blocks.items() for layer in layer_names}
        starts = None
    else:
        owner, starts = None, list(blocks)
    wanted = set(owner or starts)
    missing = sorted(wanted - names)
    if missing:
        raise ValueError(
            f"blocks name layers that {model.name!r} does not have: {missing[:5]}. "
            f"Its layers are: {[layer.name for layer in model.layers][:20]}..."
        )
    if owner is not None:
        return lambda layers: [owner.get(layer.name) for layer in layers]
    return lambda layers: [layer.name if layer.name in wanted else None for layer in layers]


def generic_block_rule(layers):
    markers = _ALL_PATTERNS(layers)
    if len({m for m in markers if m is not None}) >= 2:
        return markers
    return [layer.name if layer.weights else None for layer in layers]


def resolve_backbone(backbone: str | BackboneSpec | keras.Model) -> BackboneSpec:
    """Turns a registry name, a `BackboneSpec` or a `keras.Model` into a `BackboneSpec`."""
    if isinstance(backbone, BackboneSpec):
        return backbone
    if isinstance(backbone, keras.Model):
        return custom_backbone(backbone)
    if isinstance(backbone, str):
        return get_backbone(backbone)
    raise TypeError(
        f"backbone must be a registry name, a keras.Model or a BackboneSpec, got {type(backbone).__name__}."
    )


def size_pair(image_size: int | tuple[int, int]) -> tuple[int, int]:
    """`224` or `(224, 320)` → `(height, width)`."""
    if isinstance(image_size, int):
        return image_size, image_size
    height, width = image_size
    return int(height), int(width)


def _looks_like_download_failure(error: Exception) -> bool:
    text = str(error)
    return "URL fetch failure" in text or "http" in text.lower()


def _download_failure_message(spec: BackboneSpec, error: Exception) -> str:
    url_match = re.search(r"https?://[^\s:]+(?::[^\s]*)?", str(error))
    url = url_match.group(0).rstrip(":") if url_match else "(unknown URL)"
    filename = url.rsplit("/", 1)[-1]
    cache = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "models")
    return (
        f"Could not download the ImageNet weights of {spec.keras_name} ({type(error).__name__}: "
        f"{str(error)[:200]}). Keras wanted the file {filename!r} from {url}. Either copy that file "
        f"into Keras' cache folder {cache}/ (it is used without a download from then on), or pass "
        f"weights='/path/to/{filename}'; weights=None trains from scratch."
    )
