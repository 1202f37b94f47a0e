"""`FitConfig`: the one source of truth for every `build_and_fit` option.

Four groups — data, model, training, runtime — each a dataclass whose fields
are the options, with their defaults, their help text and how the command
line spells them. Everything else is generated from these fields: the
signature and option list of `build_and_fit`, the `keras-transfer fit`
options, the saved `config.json` and its reader. Adding an option is adding
one field.

On disk the config is flat (`{"backbone": ..., "batch_size": ..., ...}`): each
option's name is unique across the groups, so a config file reads like the
`build_and_fit` call that made it, and files written before the groups
existed load unchanged.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from keras_transfer.serialization import read_settings, to_jsonable, write_settings
from keras_transfer.train import Stage
from keras_transfer.version import __version__

# Keys a saved config holds for the record only: not options, ignored when it is read back.
RECORD_ONLY = ("keras_transfer_version", "multi_label")
# Keys of configs written by earlier versions that are no longer options, mapped to what replaces them.
RENAMED: dict[str, str] = {}
# Options holding data (or a teacher): recorded as a description, and a rerun asks for them when not a path.
DATA_OPTIONS = ("data", "validation_data", "target_data", "target_test_data", "unlabeled_data", "teacher")


def option(default: Any = None, help: str = "", *, cli: str | None = None, library_only: str | None = None,
           default_factory: Any = None, compare: bool = True) -> Any:
    """A config field: its default, help text and command-line kind.

    Args:
        default: the default value.
        help: one sentence for `--help` and the docs.
        cli: how the command line parses it (a kind `keras_transfer.cli.fit`
            knows: "text", "int", "float", "fraction", "positive_int", "bool",
            "list", "json", "data", "weights", "image_size", "augmentation",
            "stages", "class_weight", ...).
        library_only: why the option has no command-line flag (exactly one of `cli` and `library_only`).
        default_factory: for mutable defaults.
        compare: whether equality of configs compares it (off for run-time objects).

    Returns:
        A `dataclasses.field`.
    """
    if (cli is None) == (library_only is None):
        raise ValueError("An option needs exactly one of cli= (its command-line kind) and library_only= (why not).")
    metadata = {"help": help, "cli": cli, "library_only": library_only}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata, compare=compare)
    return field(default=default, metadata=metadata, compare=compare)


class _Group:
    """What the four groups share: their options as dataclass fields, normalised on construction."""

    title: ClassVar[str] = ""

    def __post_init__(self):
        self.normalize()

    def normalize(self) -> None:
        """Puts equal settings in one form (tuples for sizes, `Stage` objects, int class keys, ...)."""

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    def __eq__(self, other: object) -> bool:
        """Equal when they record the same settings (data as `describe_data` writes it; run-time objects aside)."""
        if type(other) is not type(self):
            return NotImplemented
        return all(_record(option.name, getattr(self, option.name)) == _record(option.name, getattr(other, option.name))
                   for option in self.options() if option.compare)


@dataclass(eq=False)
class DataConfig(_Group):
    """Where the images and labels come from, how they are checked and augmented."""

    title: ClassVar[str] = "data"

    data: Any = option(None, "a folder with a sub-folder per class, a CSV path or DataFrame (path + label "
                             "columns), (images, labels) arrays, (paths, labels), a tf.data.Dataset of "
                             "(image, label), 'tfds:<name>[:split]', or a keras_transfer.ImageDataGenerator flow",
                       cli="data")
    validation_data: Any = option(None, "same kinds as data; default: a split of data", cli="data")
    validation_split: float = option(0.2, "stratified, seeded share of data held out when validation_data is "
                                          "not given", cli="fraction")
    class_names: list | None = option(None, "fixes the class order (default: sorted names found in the data)",
                                      cli="list")
    path_column: str | None = option(None, "CSV/DataFrame column of the image paths (default: found by name)",
                                     cli="text")
    label_column: str | None = option(None, "CSV/DataFrame column of the labels (default: found by name)",
                                      cli="text")
    label_delimiter: str = option("|", "separates several labels in one CSV cell (multi-label data)", cli="text")
    text_column: str | None = option(None, "text data: the CSV/DataFrame column of the texts; giving it (or a "
                                           "text preset as backbone) makes the run a text run", cli="text")
    scan: bool = option(True, "check every image file before training; broken files are skipped and listed",
                        cli="bool")
    strict: bool = option(False, "raise on the first broken file instead of skipping it", cli="bool")
    max_pixels: int | None = option(None, "refuse images with more pixels than this (default: Pillow's "
                                          "decompression-bomb limit)", cli="positive_int")
    augmentation: Any = option("default", "'default' (flip, +-10 degree rotation, 10% shift and zoom), None, "
                                          "a dict of ImageDataGenerator-style options, or an ImageDataGenerator",
                               cli="augmentation")
    cache: str | bool | None = option("auto", "decoded-image cache: 'auto' (memory when it fits, else disk), "
                                              "'memory', a file path prefix, or None for none", cli="cache")
    target_data: Any = option(None, "domain adaptation: unlabeled images of the target domain (a folder of "
                                    "images, a list of paths, an image array or a tf.data of images); needs "
                                    "adaptation=", cli="data")
    target_test_data: Any = option(None, "domain adaptation: labelled target images, split in two: one part "
                                         "chooses between the adapted and the source-only model, the other "
                                         "reports both", cli="data")
    unlabeled_data: Any = option(None, "distillation: images without labels (a folder, image files or an image "
                                       "array) that the teacher labels for the student", cli="data")

    def normalize(self) -> None:
        if isinstance(self.data, os.PathLike):
            self.data = os.fspath(self.data)
        if isinstance(self.validation_data, os.PathLike):
            self.validation_data = os.fspath(self.validation_data)
        if self.class_names is not None and not isinstance(self.class_names, str):
            self.class_names = [str(name) for name in self.class_names]
        if _is_augmentation_object(self.augmentation):
            self.augmentation = self.augmentation.to_dict()


@dataclass(eq=False)
class ModelConfig(_Group):
    """Which network: the backbone, its weights, the input size and the head."""

    title: ClassVar[str] = "model"

    backbone: Any = option("efficientnetv2b0", "a registry name (list_backbones()), a BackboneSpec "
                                               "(custom_backbone(...)), a keras.Model, or 'auto': rank the "
                                               "candidates and fine-tune the best", cli="text")
    candidates: list | None = option(None, "with backbone='auto': (registry name, weights) pairs to rank, e.g. "
                                           "[('mobilenet', 'imagenet'), ('vgg16', 'vgg16.weights.h5')]",
                                     cli="candidates")
    rank_by: str = option("logme", "with backbone='auto': the transferability score that picks the backbone",
                          cli="text")
    weights: str | None = option("imagenet", "'imagenet', a weights-file path, or None (from scratch: one "
                                             "all-trainable stage, BatchNorm trains)", cli="weights")
    image_size: int | tuple | None = option(None, "int or (height, width); default: the backbone's default size",
                                            cli="image_size")
    dropout: float = option(0.2, "head dropout", cli="float")
    hidden_units: int | None = option(None, "an optional hidden Dense layer in the head", cli="positive_int")
    sequence_length: int | None = option(None, "text runs: tokens per text (default: 99% of the training texts "
                                               "fit, capped by the preset)", cli="positive_int")
    pooling: str | None = option(None, "text runs: 'mean' (masked mean of the token outputs) or 'cls' (the "
                                       "pooled [CLS] output); default: as the preset was trained", cli="text")
    teacher: Any = option(None, "distillation: the teacher, an export folder or .keras file (a FitResult or "
                                "keras.Model from Python); the run's backbone is the student", cli="text")

    def normalize(self) -> None:
        if isinstance(self.weights, os.PathLike):
            self.weights = os.fspath(self.weights)
        if isinstance(self.image_size, (list, tuple)):
            self.image_size = tuple(int(side) for side in self.image_size)


@dataclass(eq=False)
class TrainingConfig(_Group):
    """How it trains: the method, the stage plan, the loss and what is compared."""

    title: ClassVar[str] = "training"

    method: str = option("fine_tune", "the transfer method (keras_transfer.list_methods()): 'fine_tune' (the "
                                      "staged recipe), 'linear_probe', 'scratch', or one registered by a user",
                         cli="text")
    method_options: dict = option(help="options of the method (see the method's docs)", cli="json",
                                  default_factory=dict)
    stages: Any = option("default", "'default', or a list of Stage/dicts (see keras_transfer.Stage)", cli="stages")
    epochs: int | None = option(None, "the most epochs per stage of the default plan", cli="positive_int")
    peft: str | None = option(None, "parameter-efficient fine-tuning: 'lora', 'bias' (BitFit) or 'norm' trains "
                                    "only that set (and the head) after the head-only stage; the better is kept",
                              cli="peft")
    batch_size: int = option(32, "images per step", cli="positive_int")
    label_smoothing: float = option(0.1, "label smoothing of the cross-entropy loss", cli="float")
    class_weight: Any = option(None, "None, 'balanced' or {class index: weight}", cli="class_weight")
    monitor: str = option("val_loss", "what each stage's early stopping watches (val_ is dropped without "
                                      "validation data)", cli="text")
    head_init: str | None = option("linear_probe", "'linear_probe': a cached head stage starts at the logistic "
                                                   "regression of the features (kept if training does not beat "
                                                   "it); None: random", cli="head_init")
    feature_cache: bool = option(True, "train the head-only stages at the start of a pretrained plan on backbone "
                                       "features computed once", cli="bool")
    feature_views: int = option(0, "augmented views of each training image added to the feature cache",
                                cli="count")
    precise_batchnorm: bool = option(True, "recompute the statistics of BatchNorm layers that train (from "
                                           "scratch) over training batches before each validation", cli="bool")
    baselines: list = option(help="methods scored beside the model on the same split: 'linear_probe', "
                                  "'scratch'; the better model is kept, with a warning",
                             cli="list", default_factory=list)
    adaptation: str | None = option(None, "domain adaptation with target_data=: 'dann' (gradient reversal), "
                                          "'coral' or 'mmd' (feature alignment), 'mcc' (minimum class "
                                          "confusion); runs method 'domain_adaptation'", cli="text")

    def normalize(self) -> None:
        if isinstance(self.stages, (Stage, Mapping)):
            self.stages = [self.stages]
        if isinstance(self.stages, (list, tuple)):
            self.stages = [stage if isinstance(stage, Stage) else Stage.from_dict(stage) for stage in self.stages]
        if isinstance(self.baselines, str):
            self.baselines = [self.baselines]
        self.baselines = list(self.baselines or [])
        if isinstance(self.class_weight, Mapping):
            self.class_weight = {int(key): float(value) for key, value in self.class_weight.items()}
        self.method_options = dict(self.method_options or {})


@dataclass(eq=False)
class RuntimeConfig(_Group):
    """Where and how it runs: seeds, precision, compilation, output folder, logging."""

    title: ClassVar[str] = "runtime"

    seed: int = option(0, "seeds the split, weights init, shuffling and augmentation", cli="int")
    mixed_precision: str | bool = option("auto", "'auto' (mixed_float16 on a GPU, mixed_bfloat16 under a TPU "
                                                 "strategy, float32 on CPU), True, False, or a dtype policy name",
                                         cli="precision")
    jit_compile: bool | str = option(False, "compile train steps with XLA (True, False or 'auto')", cli="jit")
    steps_per_execution: int = option(1, "train steps per call into the compiled function", cli="positive_int")
    drop_remainder: bool | str = option("auto", "drop the last partial training batch so every step has the same "
                                                "shape: 'auto' (under a TPU strategy or jit_compile=True), True "
                                                "or False", cli="jit")
    distribute: str | None = option(None, "train under a tf.distribute strategy chosen by name: 'multi_worker' "
                                          "(the cluster in TF_CONFIG), 'mirrored' (this machine's devices), 'tpu', "
                                          "'auto'; batch_size is then the global batch, split across replicas",
                                    cli="distribute")
    collective_timeout: float | None = option(None, "multi-worker runs: seconds a collective waits for the other "
                                                    "workers before failing (a lost worker then stops the run "
                                                    "instead of hanging it)", cli="float")
    output_dir: str | None = option(None, "where the best checkpoint, the resume state and config.json go",
                                    library_only="the fit command's own --output-dir sets it (required there: "
                                                 "the export and report go there too)")
    resume: bool = option(False, "continue a killed run from output_dir and finish the plan",
                          library_only="the fit command's own --resume sets it, after checking the folder")
    verbose: int = option(1, "0 silent, 1 progress bars and stage lines",
                          library_only="the fit command's --quiet sets verbose=0")
    strategy: Any = option(None, "a tf.distribute strategy to build and train under",
                           library_only="a tf.distribute.Strategy object, not a JSON value (the config records "
                                        "its class name)", compare=False)
    callbacks: Any = option(help="extra Keras callbacks", default_factory=list, compare=False,
                            library_only="Keras callback objects, not JSON values (the config records their "
                                         "class names)")

    def normalize(self) -> None:
        if isinstance(self.output_dir, os.PathLike):
            self.output_dir = os.fspath(self.output_dir)
        self.callbacks = list(self.callbacks or [])


GROUPS = (DataConfig, ModelConfig, TrainingConfig, RuntimeConfig)
# The positional order of `build_and_fit`'s first arguments, as before the config existed.
POSITIONAL = ("data", "backbone", "weights", "image_size", "validation_data", "validation_split", "augmentation",
              "stages", "batch_size", "seed", "strategy", "output_dir")


@dataclass(eq=True)
class FitConfig:
    """Every setting of a `build_and_fit` run, in four groups.

    `build_and_fit(**options)` builds one with `FitConfig.from_arguments`;
    `FitResult.config` is the resolved run's `to_dict()`, and
    `FitConfig.from_dict` reads it (or a `config.json`) back, so a run can be
    rerun and compared.

    Example:
        >>> config = FitConfig.from_arguments(data="photos/", backbone="mobilenetv2", epochs=3)
        >>> config.model.backbone, config.training.epochs
        ('mobilenetv2', 3)
        >>> FitConfig.from_dict(config.to_dict()) == config
        True
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    # --- the options ---------------------------------------------------------------------------

    @staticmethod
    def option_fields() -> dict[str, tuple[type, dataclasses.Field]]:
        """`{option name: (its group class, its field)}` in group order."""
        return {option.name: (group, option) for group in GROUPS for option in group.options()}

    @classmethod
    def option_names(cls) -> list[str]:
        """Every option's name, in group order."""
        return list(cls.option_fields())

    def get(self, name: str) -> Any:
        """The value of one option, by name."""
        group, _ = self._owner(name)
        return getattr(getattr(self, group.title), name)

    def replace(self, **changes) -> FitConfig:
        """A copy with some options changed (by their flat names), normalised again.

        Example:
            >>> config.replace(epochs=1, verbose=0).training.epochs
            1
        """
        updates: dict[str, dict] = {}
        for name, value in changes.items():
            group, _ = self._owner(name)
            updates.setdefault(group.title, {})[name] = value
        groups = {title: dataclasses.replace(getattr(self, title), **values) for title, values in updates.items()}
        return dataclasses.replace(self, **groups)

    # --- building it -----------------------------------------------------------------------------

    @classmethod
    def from_arguments(cls, *args, **options) -> FitConfig:
        """The config of a `build_and_fit(*args, **options)` call.

        Args:
            *args: positional arguments in `build_and_fit`'s order (data, backbone, weights, ...).
            **options: any option by name.

        Returns:
            A `FitConfig`.

        Raises:
            TypeError: an unknown option (the message lists the known ones), or one given twice.
        """
        if len(args) > len(POSITIONAL):
            raise TypeError(f"build_and_fit takes at most {len(POSITIONAL)} positional arguments "
                            f"({', '.join(POSITIONAL)}); pass the rest by name.")
        for name, value in zip(POSITIONAL, args):
            if name in options:
                raise TypeError(f"build_and_fit got {name!r} both by position and by name.")
            options[name] = value
        known = cls.option_fields()
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(f"Unknown build_and_fit option(s) {unknown}. The options are: {', '.join(known)}.")
        grouped: dict[str, dict] = {group.title: {} for group in GROUPS}
        for name, value in options.items():
            grouped[known[name][0].title][name] = value
        return cls(**{group.title: group(**grouped[group.title]) for group in GROUPS})

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], **overrides) -> FitConfig:
        """Reads a config back: flat (as `to_dict` and `config.json` write it) or grouped by title.

        Args:
            config: the mapping; record-only keys (`keras_transfer_version`,
                `multi_label`) and the descriptions of run-time objects are dropped.
            **overrides: options that replace the config's.

        Returns:
            A `FitConfig`.

        Raises:
            TypeError: a key that is no option (with the list of options).
        """
        titles = [group.title for group in GROUPS]
        grouped = all(isinstance(config.get(title), Mapping) for title in titles)
        flat: dict[str, Any] = {}
        for key, value in config.items():
            if grouped and key in titles:
                flat.update(value)
            else:
                flat[key] = value
        for key in RECORD_ONLY:
            flat.pop(key, None)
        for old, new in RENAMED.items():
            if old in flat:
                flat.setdefault(new, flat.pop(old))
        for name in ("strategy", "callbacks"):  # described, not stored: the objects cannot be rebuilt
            if isinstance(flat.get(name), (str, list)) and name not in overrides:
                flat.pop(name)
        flat.update(overrides)
        return cls.from_arguments(**flat)

    @classmethod
    def read(cls, path: str | os.PathLike, **overrides) -> FitConfig:
        """Reads a `config.json` (or .yaml) that a run wrote.

        Example:
            >>> FitConfig.read("runs/photos/config.json").model.backbone
            'efficientnetv2b0'
        """
        return cls.from_dict(read_settings(path, "config"), **overrides)

    # --- writing it ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The flat, JSON-able config: every option by name, plus `keras_transfer_version`.

        Values that are not JSON are described: a DataFrame or arrays as
        `"<DataFrame>"`, a custom backbone by `backbone_record`, a strategy
        and callbacks by their class names.
        """
        out: dict[str, Any] = {"keras_transfer_version": __version__}
        for name in self.option_names():
            out[name] = _record(name, self.get(name))
        return to_jsonable(out)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes `to_dict()` as JSON (YAML for .yaml/.yml), atomically."""
        return write_settings(path, self.to_dict())

    def _owner(self, name: str) -> tuple[type, dataclasses.Field]:
        try:
            return self.option_fields()[name]
        except KeyError:
            raise TypeError(f"Unknown option {name!r}. The options are: {', '.join(self.option_names())}.") from None


def _record(name: str, value: Any) -> Any:
    """One option's value as the config file holds it."""
    if name in DATA_OPTIONS:
        return describe_data(value)
    if name == "backbone":
        return value if isinstance(value, (str, Mapping)) else f"<custom:{getattr(value, 'name', '?')}>"
    if name == "candidates" and value is not None:
        from keras_transfer.ranking.rank import as_candidate

        return [as_candidate(candidate).to_dict() for candidate in value]
    if name == "stages" and isinstance(value, list):
        return [stage.to_dict() for stage in value]
    if name == "augmentation" and _is_augmentation_object(value):
        return value.to_dict()
    if name == "strategy":
        return None if value is None else type(value).__name__
    if name == "callbacks":
        return [type(callback).__name__ for callback in value]
    return value


def describe_data(data: Any) -> Any:
    """A data source as a config holds it: paths and `tfds:` names as text, anything else as `<TypeName>`."""
    if data is None or isinstance(data, str):
        return data
    if isinstance(data, os.PathLike):
        return os.fspath(data)
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        return flow.spec.source
    return f"<{type(data).__name__}>"


def _is_augmentation_object(value: Any) -> bool:
    return hasattr(value, "to_dict") and type(value).__name__ == "Augmentation"


def signature() -> inspect.Signature:
    """`build_and_fit`'s signature, generated from the options: the first ones positional, as before."""
    parameters = []
    for name, (_, option_field) in FitConfig.option_fields().items():
        default = option_field.default if option_field.default is not dataclasses.MISSING else (
            option_field.default_factory())
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if name in POSITIONAL else inspect.Parameter.KEYWORD_ONLY
        parameters.append((POSITIONAL.index(name) if name in POSITIONAL else len(POSITIONAL),
                           inspect.Parameter(name, kind, default=default)))
    ordered = [parameter for _, parameter in sorted(parameters, key=lambda pair: pair[0])]
    return inspect.Signature(ordered)


def options_doc() -> str:
    """The options as a docstring section: one `name: help (default ...)` line per option, by group."""
    lines = []
    for group in GROUPS:
        lines.append(f"    {group.title} options:")
        for option_field in group.options():
            default = option_field.default if option_field.default is not dataclasses.MISSING else (
                option_field.default_factory())
            lines.append(f"        {option_field.name}: {option_field.metadata['help']} (default {default!r}).")
    return "\n".join(lines)
