"""`build_and_fit()`: data → pipelines → model → staged fine-tuning → `FitResult`.

Orchestration only: each step lives in its own module.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_transfer import __version__
from keras_transfer.augmentation import resolve_augmentation
from keras_transfer.backbones import BackboneSpec, resolve_backbone, size_pair
from keras_transfer.data import DataSpec, load_data, summarize
from keras_transfer.model import build_model, get_backbone_layer
from keras_transfer.pipeline import label_mode, make_dataset
from keras_transfer.training import StagedUnfreeze, resolve_stages


@dataclass
class FitResult:
    """What `build_and_fit` returns.

    Attributes:
        model: the trained `keras.Model` (RGB pixels 0–255 in, probabilities out).
        history: one dict per stage: name, first epoch, epochs run, best epoch
            and value, trainable blocks and per-epoch metrics.
        class_names: class names in output order.
        metrics: validation metrics of the final model (empty without validation data).
        config: the resolved settings (JSON-able); `build_and_fit_from_config`
            reruns them.
        data_summary: class counts, imbalance, skipped files.
        backbone: the backbone's registry entry.
        train_spec, validation_spec: the data, for evaluation and reports.
        timings: wall seconds per step.
    """

    model: keras.Model
    history: list[dict]
    class_names: list[str]
    metrics: dict
    config: dict
    data_summary: dict
    backbone: BackboneSpec
    train_spec: DataSpec = field(repr=False)
    validation_spec: DataSpec | None = field(repr=False, default=None)
    timings: dict = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.config["image_size"])

    @property
    def multi_label(self) -> bool:
        return bool(self.config["multi_label"])

    def save_config(self, path: str | os.PathLike) -> Path:
        """Writes the config as JSON (or YAML for a .yaml/.yml path); `keras-transfer fit --config` reruns it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        else:
            path.write_text(json.dumps(self.config, indent=2))
        return path

    def summary(self) -> str:
        """A few lines: the stages run and the validation metrics."""
        lines = [f"{self.backbone.keras_name} on {len(self.class_names)} classes, image size {self.image_size}"]
        for stage in self.history:
            best = stage.get("best_value")
            lines.append(
                f"  stage {stage['name']}: {stage['epochs_run']} epochs, blocks {len(stage['trainable_blocks'])}, "
                f"best {self.config['monitor']} {best:.4f}" if best is not None else
                f"  stage {stage['name']}: {stage['epochs_run']} epochs"
            )
        if self.metrics:
            lines.append("  validation: " + ", ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        return "\n".join(lines)


def build_and_fit(
    data,
    backbone: str | BackboneSpec | keras.Model = "efficientnetv2b0",
    weights: str | None = "imagenet",
    image_size: int | tuple[int, int] | None = None,
    validation_data=None,
    validation_split: float = 0.2,
    augmentation="default",
    stages="default",
    batch_size: int = 32,
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    output_dir: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    dropout: float = 0.2,
    hidden_units: int | None = None,
    label_smoothing: float = 0.1,
    class_weight: str | Mapping | None = None,
    class_names: Sequence[str] | None = None,
    path_column: str | None = None,
    label_column: str | None = None,
    label_delimiter: str = "|",
    monitor: str = "val_loss",
    cache: str | bool | None = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
) -> FitResult:
    """Trains the strongest classifier a pretrained backbone gives, in one call.

    The recipe: the backbone's preprocessing inside the model; pretrained
    BatchNorm frozen in inference mode; the head trained first, then the top
    blocks, then everything, each stage at a lower learning rate with warm-up
    and cosine decay, its own early stopping and best-weights restore;
    augmentation in training only; label smoothing; AdamW.

    Args:
        data: a folder with a sub-folder per class, a CSV path or DataFrame
            (path + label columns), `(images, labels)` arrays, `(paths, labels)`,
            a `tf.data.Dataset` of `(image, label)`, `"tfds:<name>[:split]"`,
            or a `keras_transfer.ImageDataGenerator` flow.
        backbone: a registry name (`list_backbones()`), a `BackboneSpec`
            (`custom_backbone(...)`) or a `keras.Model`.
        weights: `"imagenet"`, a weights-file path, or None (from scratch:
            one all-trainable stage, BatchNorm trains).
        image_size: int or (height, width); default: the backbone's default size.
        validation_data: same kinds as `data`; default: a split of `data`.
        validation_split: stratified, seeded share of `data` held out when
            `validation_data` is None.
        augmentation: `"default"` (flip, ±10° rotation, 10% shift and zoom),
            None, a dict of ImageDataGenerator-style options, or an
            `ImageDataGenerator`.
        stages: `"default"`, or a list of `Stage`/dicts (see `Stage`).
        batch_size: images per step.
        seed: seeds the split, weights init, shuffling and augmentation.
        strategy: a `tf.distribute` strategy to build and train under.
        output_dir: where to keep the best checkpoint and `config.json` (optional).
        epochs: the most epochs per stage of the default plan.
        dropout: head dropout.
        hidden_units: optional hidden Dense layer in the head.
        label_smoothing: for the cross-entropy loss.
        class_weight: None, `"balanced"` or `{class index: weight}`.
        class_names: fixes the class order.
        path_column, label_column, label_delimiter: for CSV/DataFrame data.
        monitor: what each stage's early stopping watches.
        cache: decoded-image cache, see `make_dataset`.
        callbacks: extra Keras callbacks.
        verbose: 0 silent, 1 progress bars and stage lines.

    Returns:
        A `FitResult`.

    Example:
        >>> result = keras_transfer.build_and_fit("flowers/", backbone="efficientnetv2b0")
        >>> result.metrics["accuracy"]
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    keras.utils.set_random_seed(seed)
    train_spec, val_spec = load_data(
        data, validation_data=validation_data, validation_split=validation_split, seed=seed,
        class_names=class_names, path_column=path_column, label_column=label_column,
        label_delimiter=label_delimiter,
    )
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        image_size = image_size or flow.target_size
        if isinstance(augmentation, str) and augmentation == "default":
            augmentation = flow.generator
    spec = resolve_backbone(backbone)
    size = size_pair(image_size or spec.default_size)
    augment = resolve_augmentation(augmentation)
    pretrained = weights is not None
    plan = resolve_stages(stages, pretrained, epochs)
    timings["data"] = time.perf_counter() - started

    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model = build_model(spec, train_spec.num_classes, weights=weights, image_size=size,
                            dropout=dropout, hidden_units=hidden_units, multi_label=train_spec.multi_label)
        loss, metrics = loss_and_metrics(train_spec, label_smoothing)
        model.compile(optimizer=keras.optimizers.AdamW(), loss=loss, metrics=metrics, jit_compile=False)
    timings["build"] = time.perf_counter() - started - timings["data"]

    train_ds = make_dataset(train_spec, size, batch_size, training=True, augmentation=augment, seed=seed,
                            cache=cache)
    val_ds = make_dataset(val_spec, size, batch_size, cache=cache) if val_spec is not None else None
    if val_ds is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    staged = StagedUnfreeze(plan, blocks=spec.blocks(get_backbone_layer(model)), monitor=monitor,
                            freeze_batchnorm=pretrained, verbose=verbose)
    all_callbacks = [staged, *callbacks]
    if output_dir is not None:
        output = Path(output_dir)
        output.mkdir(parents=True, exist_ok=True)
        all_callbacks.append(keras.callbacks.ModelCheckpoint(
            str(output / "checkpoints" / "best.keras"), monitor=monitor, save_best_only=True))

    fit_started = time.perf_counter()
    model.fit(train_ds, validation_data=val_ds, epochs=staged.total_epochs, callbacks=all_callbacks,
              class_weight=resolve_class_weight(class_weight, train_spec), verbose=verbose)
    timings["fit"] = time.perf_counter() - fit_started

    final_metrics = {}
    if val_ds is not None:
        final_metrics = model.evaluate(val_ds, verbose=0, return_dict=True)
        final_metrics = {key: float(value) for key, value in final_metrics.items()}
    timings["total"] = time.perf_counter() - started

    config = {
        "keras_transfer_version": __version__,
        "data": _describe(data),
        "validation_data": _describe(validation_data),
        "backbone": spec.name,
        "weights": None if weights is None else str(weights),
        "image_size": list(size),
        "validation_split": validation_split,
        "augmentation": augment.to_dict() if augment is not None else None,
        "stages": [stage.to_dict() for stage in plan],
        "batch_size": batch_size,
        "seed": seed,
        "epochs": epochs,
        "dropout": dropout,
        "hidden_units": hidden_units,
        "label_smoothing": label_smoothing,
        "class_weight": class_weight if isinstance(class_weight, (str, type(None))) else dict(class_weight),
        "class_names": list(train_spec.class_names),
        "multi_label": train_spec.multi_label,
        "path_column": path_column,
        "label_column": label_column,
        "label_delimiter": label_delimiter,
        "monitor": monitor,
    }
    result = FitResult(
        model=model, history=staged.stage_history, class_names=list(train_spec.class_names),
        metrics=final_metrics, config=config, data_summary=summarize(train_spec, val_spec),
        backbone=spec, train_spec=train_spec, validation_spec=val_spec, timings=timings,
    )
    if output_dir is not None:
        result.save_config(Path(output_dir) / "config.json")
    return result


# Settings in a saved config that are not `build_and_fit` arguments.
_RECORD_ONLY = ("keras_transfer_version", "multi_label")


def build_and_fit_from_config(config: Mapping | str | os.PathLike, **overrides) -> FitResult:
    """Reruns a run from its saved config (a dict, or a JSON/YAML file).

    Args:
        config: `FitResult.config`, or the path of a file `save_config` wrote.
        **overrides: arguments that replace the config's (e.g. `data=` when
            the config's data was not a path, `verbose=0`).

    Returns:
        The new `FitResult`.

    Example:
        >>> again = build_and_fit_from_config("runs/flowers/config.json")
    """
    if not isinstance(config, Mapping):
        text = Path(config).read_text()
        if str(config).lower().endswith((".yaml", ".yml")):
            import yaml

            config = yaml.safe_load(text)
        else:
            config = json.loads(text)
    arguments = {key: value for key, value in config.items() if key not in _RECORD_ONLY}
    arguments.update(overrides)
    for key in ("data", "validation_data"):
        if isinstance(arguments.get(key), str) and arguments[key].startswith("<"):
            raise ValueError(f"The config's {key} was {arguments[key]}, which cannot be reloaded: pass {key}=.")
    return build_and_fit(**arguments)


def loss_and_metrics(spec: DataSpec, label_smoothing: float = 0.1):
    """The loss and metrics for a task: categorical, binary or multi-label."""
    mode = label_mode(spec)
    if mode == "categorical":
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
        if spec.num_classes > 5:
            metrics.append(keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy"))
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing), metrics
    if mode == "binary":
        return (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing),
                [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")])
    return (keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing),
            [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc", multi_label=True)])


def resolve_class_weight(class_weight, spec: DataSpec) -> dict[int, float] | None:
    """`"balanced"` → n / (classes × count) per class; a dict passes through; None → None."""
    if class_weight is None:
        return None
    if spec.multi_label:
        raise ValueError("class_weight is not supported for multi-label data: Keras weighs whole samples.")
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}.")
        counts = np.bincount(spec.labels, minlength=spec.num_classes).astype(float)
        present = counts > 0
        weights = np.where(present, len(spec) / (present.sum() * np.maximum(counts, 1)), 0.0)
        return {index: float(weight) for index, weight in enumerate(weights)}
    return {int(key): float(value) for key, value in dict(class_weight).items()}


def _describe(data) -> str | None:
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        return flow.spec.source
    return f"<{type(data).__name__}>"
