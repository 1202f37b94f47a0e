"""`build_and_fit()`: data → pipelines → model → staged fine-tuning → `FitResult`.

Orchestration only: each step lives in its own module.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from keras_transfer.data.augmentation import resolve_augmentation
from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.sources import DataSpec, load_data, summarize
from keras_transfer.evaluation.evaluate import imbalance_warnings, transfer_warnings
from keras_transfer.methods.baselines import BASELINES, linear_probe, probe_weights, scratch_baseline
from keras_transfer.models.backbones import BackboneSpec, resolve_backbone, size_pair
from keras_transfer.models.classifier import build_model, get_backbone_layer
from keras_transfer.train import loss_and_metrics, resolve_class_weight, resolve_stages, run_plan
from keras_transfer.train.callbacks.resume import (
    ResumeCheckpoint,
    load_kept_weights,
    load_resume_model,
    load_resume_state,
)
from keras_transfer.train.feature_cache import extract_features, fit_head_on_features
from keras_transfer.version import __version__


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
        baselines: validation metrics of `fine_tuned` and of each baseline asked for.
        warnings: negative transfer and stage warnings, as sentences.
        kept: which model `model` is: `"fine_tuned"`, or a baseline that scored better.
        kept_stage: the stage whose weights the fine-tuned model ends with.
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
    baselines: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    kept: str = "fine_tuned"
    kept_stage: str | None = None

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

    def evaluate(self, data=None, **options):
        """Scores the model on `data` (default: the validation data); see `keras_transfer.evaluate`.

        Returns:
            An `Evaluation` (metrics, confusion matrix, calibration, hardest images).

        Example:
            >>> print(result.evaluate("test_photos/"))
        """
        from keras_transfer.evaluation.evaluate import evaluate

        data = data if data is not None else self.validation_spec
        if data is None:
            raise ValueError("This run had no validation data: pass the data to evaluate on.")
        return evaluate(self, data, **options)

    def report(self, path: str | os.PathLike, data=None, evaluation=None) -> Path:
        """Writes the self-contained HTML report: data, config, curves, metrics, confusions, baselines, warnings.

        Args:
            path: the .html file to write.
            data: what to evaluate on (default: the validation data).
            evaluation: an `Evaluation` already computed (skips evaluating again).

        Returns:
            The path written.
        """
        from keras_transfer.evaluation.report import write_report

        evaluation = evaluation or self.evaluate(data)
        summary = {**self.data_summary, "class_weight": self.config.get("class_weight")}
        return write_report(path, evaluation=evaluation, history=self.history, config=self.config,
                            data_summary=summary, baselines=self.baselines, warnings=self.warnings,
                            title=f"{self.backbone.keras_name} on {len(self.class_names)} classes")

    def export(self, directory: str | os.PathLike, *, report: bool = True, **options):
        """Exports the model with its labels, config and validation metrics; see `keras_transfer.export`.

        TFLite int8 calibration uses training images and the TFLite accuracy
        the validation images, unless `representative_data`/`validation_data`
        are given. With `report=True`, `report.html` is written beside the model.

        Returns:
            The `ExportResult`.

        Example:
            >>> result.export("saved_models/flowers", tflite=["float16", "int8"])
        """
        from keras_transfer.serving.export import export

        if options.get("tflite") and "representative_data" not in options:
            options["representative_data"] = make_dataset(self.train_spec, self.image_size, 32, cache=False)
        if options.get("tflite") and "validation_data" not in options and self.validation_spec is not None:
            options["validation_data"] = make_dataset(self.validation_spec, self.image_size, 32, cache=False)
        exported = export(self.model, directory, class_names=self.class_names, multi_label=self.multi_label,
                          config=self.config, metrics=self.metrics, **options)
        if report and self.validation_spec is not None:
            self.report(Path(exported.directory) / "report.html")
        return exported

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
    scan: bool = True,
    strict: bool = False,
    max_pixels: int | None = None,
    monitor: str = "val_loss",
    cache: str | bool | None = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    baselines: Sequence[str] = (),
    resume: bool = False,
    head_init: str | None = "linear_probe",
    mixed_precision: str | bool = "auto",
    jit_compile: bool | str = False,
    steps_per_execution: int = 1,
    feature_cache: bool = True,
    feature_views: int = 0,
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
        scan, strict, max_pixels: the up-front check of image files (see
            `load_data`): broken files are skipped and listed in
            `result.data_summary["skipped"]`; `strict=True` raises instead.
        monitor: what each stage's early stopping watches.
        cache: decoded-image cache, see `make_dataset`.
        callbacks: extra Keras callbacks.
        baselines: any of `"linear_probe"` (logistic regression on the frozen
            pretrained features) and `"scratch"` (the same network from random
            weights, same split and epoch budget), scored beside the fine-tuned
            model. A warning is raised when the fine-tuned model scores below
            one, and the better model is kept.
        resume: continue a killed run from `output_dir` (its last completed
            epoch, optimizer state and stage plan) and finish the plan. Every
            run with an `output_dir` saves what resuming needs after each epoch.
        head_init: `"linear_probe"`: with a cached head-only stage, the output
            layer starts at the logistic regression of the cached features
            (and is kept if training the head does not beat it); None: random.
        mixed_precision: `"auto"` (mixed_float16 on a GPU, mixed_bfloat16 under
            a TPU strategy, float32 on CPU), True (the same, also on CPU),
            False, or a Keras dtype policy name. The head and loss stay float32.
        jit_compile: compile train steps with XLA (True, False or `"auto"`).
        steps_per_execution: train steps per call into the compiled function
            (larger values cut Python overhead on accelerators).
        feature_cache: train the head-only stages at the start of a pretrained
            plan on backbone features computed once (much faster; same head).
        feature_views: augmented views of each training image added to the
            feature cache (0: the clean images only).
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
        label_delimiter=label_delimiter, scan=scan, strict=strict, max_pixels=max_pixels,
    )
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        image_size = image_size or flow.target_size
        if flow.generator.rescale or flow.generator.preprocessing_function is not None:
            print("Note: the ImageDataGenerator's rescale/preprocessing_function is not used by build_and_fit: "
                  "its models take 0-255 pixels and apply the backbone's own preprocessing inside.")
        if isinstance(augmentation, str) and augmentation == "default":
            augmentation = flow.generator
    spec = resolve_backbone(backbone)
    size = size_pair(image_size or spec.default_size)
    augment = resolve_augmentation(augmentation)
    pretrained = weights is not None
    plan = resolve_stages(stages, pretrained, epochs)
    timings["data"] = time.perf_counter() - started

    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    policy = resolve_precision(mixed_precision, strategy)
    with scope, dtype_policy(policy):
        model = build_model(spec, train_spec.num_classes, weights=weights, image_size=size,
                            dropout=dropout, hidden_units=hidden_units, multi_label=train_spec.multi_label)
        loss, metrics = loss_and_metrics(train_spec, label_smoothing)
        model.compile(optimizer=keras.optimizers.AdamW(), loss=loss, metrics=metrics, jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
    timings["build"] = time.perf_counter() - started - timings["data"]

    # One decoded-image cache per split, shared by the feature extraction, every stage and the baselines:
    # each image is decoded once, and the augmented epochs all read the cache.
    train_images = decoded_images(train_spec, size, cache=cache)
    val_images = decoded_images(val_spec, size, cache=cache) if val_spec is not None else None
    train_ds = make_dataset(train_spec, size, batch_size, training=True, augmentation=augment, seed=seed,
                            decoded=train_images)
    val_ds = make_dataset(val_spec, size, batch_size, decoded=val_images) if val_spec is not None else None
    if val_ds is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    weights_by_class = resolve_class_weight(class_weight, train_spec)
    wanted_baselines = _check_baselines(baselines, pretrained, val_spec)
    all_callbacks = list(callbacks)
    if output_dir is not None:
        output = _check_output_dir(output_dir)
        all_callbacks.append(keras.callbacks.ModelCheckpoint(
            str(output / "checkpoints" / "best.keras"), monitor=monitor, save_best_only=True))

    resume_dir = Path(output_dir) / "resume" if output_dir is not None else None
    run_key = {"backbone": spec.name, "stages": [stage.to_dict() for stage in plan],
               "class_names": list(train_spec.class_names), "image_size": list(size)}
    saved = _saved_run(resume_dir, run_key) if resume else None
    if saved is not None:
        with scope:
            model = load_resume_model(resume_dir)
        if verbose:
            print(f"Resuming from {resume_dir}: {saved['epoch'] + 1} epochs of the plan done.")

    # Head-only stages at the start of a pretrained plan train on features computed once.
    use_cache = feature_cache and pretrained and strategy is None
    cached = list(itertools.takewhile(lambda stage: stage.train_blocks == 0, plan)) if use_cache else []
    history: list[dict] = list(saved["cached_history"]) if saved is not None else []
    train_features = val_features = None
    if (cached and saved is None) or "linear_probe" in wanted_baselines:
        step_started = time.perf_counter()
        source = model if saved is None else _fresh_model(spec, train_spec, weights, size, dropout, hidden_units)
        train_features = extract_features(source, train_spec, size, batch_size, augmentation=augment,
                                          views=feature_views if cached else 0, seed=seed, decoded=train_images)
        val_features = (extract_features(source, val_spec, size, batch_size, decoded=val_images)
                        if val_spec is not None else None)
        timings["features"] = time.perf_counter() - step_started
    baseline_models = {}
    if "linear_probe" in wanted_baselines:
        clean = (train_features[0][: len(train_spec)], train_features[1][: len(train_spec)])
        baseline_models["linear_probe"] = linear_probe(source, clean, multi_label=train_spec.multi_label, seed=seed)

    fit_started = time.perf_counter()
    warm_start = saved is None and cached and head_init == "linear_probe" and not hidden_units
    if warm_start:  # start the head at the logistic regression of the cached features, not at random
        count = len(train_spec)
        model.get_layer("predictions").set_weights(list(probe_weights(
            train_features[0][:count], train_features[1][:count], multi_label=train_spec.multi_label, seed=seed)))
    if saved is None:
        for stage in cached:
            history.append(fit_head_on_features(
                model, train_features, val_features, stage, loss=loss, metrics=metrics, batch_size=batch_size,
                class_weight=weights_by_class, monitor=monitor, keep_initial=bool(warm_start), verbose=verbose))
    remaining = plan[len(cached):]
    kept_stage = history[-1]["name"] if history else None
    plan_warnings: list[str] = []
    finished = saved is not None and saved["plan"]["index"] >= len(remaining)
    if remaining and not finished:
        previous = (history[-1]["name"], history[-1]["best_value"]) if history else None
        cached_history = list(history)

        def before_fit(staged):
            if saved is not None:
                staged.resume(saved["plan"], **load_kept_weights(resume_dir))
            extra = {"cached_history": cached_history, "run_key": run_key}
            return [ResumeCheckpoint(resume_dir, staged, extra)] if resume_dir is not None else []

        staged = run_plan(model, remaining, spec.blocks(get_backbone_layer(model)), train_ds, val_ds,
                          monitor=monitor, freeze_batchnorm=pretrained, class_weight=weights_by_class,
                          callbacks=all_callbacks, verbose=verbose, previous_best=previous,
                          initial_epoch=saved["epoch"] + 1 if saved is not None else 0, before_fit=before_fit)
        offset = sum(record["epochs_run"] for record in history)
        for record in staged.stage_history:
            record.setdefault("plan_first_epoch", record["first_epoch"])
            record["first_epoch"] = record["plan_first_epoch"] + offset
        history += staged.stage_history
        kept_stage = staged.kept_stage
        plan_warnings = staged.warnings
    elif finished:
        history += saved["plan"]["stage_history"]
        kept_stage = saved["plan"]["overall_name"] or history[-1]["name"]
        plan_warnings = list(saved["plan"]["warnings"])
    timings["fit"] = time.perf_counter() - fit_started

    final_metrics = _score(model, val_ds)
    scores = {"fine_tuned": final_metrics}
    if "scratch" in wanted_baselines:
        step_started = time.perf_counter()
        baseline_models["scratch"], _ = scratch_baseline(
            spec, train_spec.num_classes, size, sum(int(stage.epochs) for stage in plan), train_ds, val_ds,
            loss=loss, metrics=metrics, multi_label=train_spec.multi_label, dropout=dropout,
            hidden_units=hidden_units, class_weight=weights_by_class, monitor=monitor, verbose=0)
        timings["scratch_baseline"] = time.perf_counter() - step_started
    for name, baseline in baseline_models.items():
        baseline.compile(loss=loss, metrics=[type(m).from_config(m.get_config()) for m in metrics])
        scores[name] = _score(baseline, val_ds)
    warnings = imbalance_warnings(train_spec.class_counts()) + plan_warnings + transfer_warnings(
        final_metrics.get("accuracy"), {name: s for name, s in scores.items() if name != "fine_tuned"})
    warnings += transfer_warnings(None, None, [(h["name"], h.get("best_value")) for h in history],
                                  metric=monitor, higher_is_better="loss" not in monitor)
    kept = "fine_tuned"
    best_name = max(scores, key=lambda name: scores[name].get("accuracy", -1.0))
    if best_name != "fine_tuned" and scores[best_name]["accuracy"] > final_metrics.get("accuracy", -1.0):
        kept = best_name
        model = baseline_models[best_name]
        final_metrics = scores[best_name]
        warnings.append(f"Kept the {best_name} model: it scored validation accuracy "
                        f"{scores[best_name]['accuracy']:.4f} against {scores['fine_tuned']['accuracy']:.4f} "
                        "for the fine-tuned one.")
    if kept_stage and history and kept_stage != history[-1]["name"]:
        warnings.append(f"Kept the weights of stage '{kept_stage}': the later stages did not improve {monitor}.")
    for line in warnings:
        if verbose:
            print(f"WARNING: {line}")
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
        "scan": scan,
        "strict": strict,
        "max_pixels": max_pixels,
        "monitor": monitor,
        "mixed_precision": policy,
        "jit_compile": jit_compile,
        "steps_per_execution": steps_per_execution,
        "baselines": list(wanted_baselines),
        "feature_cache": feature_cache,
        "feature_views": feature_views,
        "head_init": head_init,
    }
    result = FitResult(
        model=model, history=history, class_names=list(train_spec.class_names),
        metrics=final_metrics, config=config, data_summary=summarize(train_spec, val_spec),
        backbone=spec, train_spec=train_spec, validation_spec=val_spec, timings=timings,
        baselines={name: value for name, value in scores.items()}, warnings=warnings, kept=kept,
        kept_stage=kept_stage,
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


def resolve_precision(mixed_precision: str | bool, strategy=None) -> str:
    """The Keras dtype policy for a run: mixed precision where the hardware gains from it."""
    if isinstance(mixed_precision, str) and mixed_precision != "auto":
        return mixed_precision
    if mixed_precision is False:
        return "float32"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16"
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if mixed_precision is True else "float32"


@contextlib.contextmanager
def dtype_policy(name: str):
    """Builds layers under a Keras dtype policy, then restores the previous one."""
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _saved_run(resume_dir: Path | None, run_key: dict) -> dict | None:
    if resume_dir is None:
        raise ValueError("resume=True needs output_dir=, the folder of the run to resume.")
    saved = load_resume_state(resume_dir)
    if saved is None:
        print(f"Nothing to resume in {resume_dir}: starting the run from the beginning.")
        return None
    if saved.get("run_key") != json.loads(json.dumps(run_key)):
        raise ValueError(
            f"{resume_dir} holds a different run (its backbone, stages, classes or image size differ from these "
            "arguments): pass the same arguments to resume it, or resume=False to start over."
        )
    return saved


def _fresh_model(spec, train_spec, weights, size, dropout, hidden_units) -> keras.Model:
    """The model as built, before training (the linear probe needs the pretrained features)."""
    return build_model(spec, train_spec.num_classes, weights=weights, image_size=size, dropout=dropout,
                       hidden_units=hidden_units, multi_label=train_spec.multi_label)


def _check_output_dir(output_dir) -> Path:
    """Fails before training, not after it, when results cannot be written."""
    folder = Path(output_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".keras_transfer_write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ValueError(f"Cannot write to output_dir {folder} ({error.strerror or error}): choose a folder you "
                         "can write to.") from error
    return folder


def _score(model: keras.Model, val_ds) -> dict[str, float]:
    if val_ds is None:
        return {}
    values = model.evaluate(val_ds, verbose=0, return_dict=True)
    return {key: float(value) for key, value in values.items()}


def _check_baselines(baselines: Sequence[str], pretrained: bool, val_spec) -> list[str]:
    wanted = [baselines] if isinstance(baselines, str) else list(baselines or [])
    unknown = sorted(set(wanted) - set(BASELINES))
    if unknown:
        raise ValueError(f"Unknown baseline(s) {unknown}: choose from {list(BASELINES)}.")
    if wanted and val_spec is None:
        raise ValueError("Baselines are scored on validation data: give validation_data or validation_split > 0.")
    if "linear_probe" in wanted and not pretrained:
        raise ValueError("A linear probe needs pretrained weights: with weights=None there is nothing to probe.")
    return wanted


def _describe(data) -> str | None:
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    flow = getattr(data, "keras_transfer_flow", None)
    if flow is not None:
        return flow.spec.source
    return f"<{type(data).__name__}>"
