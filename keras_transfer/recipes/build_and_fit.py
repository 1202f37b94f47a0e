"""`build_and_fit()`: the transfer recipe as a page of named steps.

    config  = FitConfig.from_arguments(...)      the one source of truth
    data    = load_run_data(config)              training / validation specs (scanned)
    context = prepare_run(config, data)          backbone, plan, precision, model, datasets
    method  = resolve_method(...)                fine_tune | linear_probe | scratch | yours
    scores  = run the baselines, then the method (all through the method interface)
    verdict = compare(...)                       warnings, and the better model kept
    return FitResult(...)

Each step is a function with one job; the methods live in `keras_transfer.methods`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import keras

from keras_transfer.adaptation.method import adaptation_config
from keras_transfer.data.augmentation import resolve_augmentation
from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.sources import DataSpec, load_data, summarize
from keras_transfer.distributed import chief_only
from keras_transfer.distributed.models import local_model
from keras_transfer.distributed.sharding import evaluate_whole, shard_training
from keras_transfer.distributed.static_shapes import resolve_drop_remainder
from keras_transfer.distributed.strategy import resolve_strategy
from keras_transfer.evaluation.evaluate import imbalance_warnings, transfer_warnings
from keras_transfer.log import Log
from keras_transfer.methods.base import (
    MethodResult,
    TransferMethod,
    check_combination,
    list_methods,
    resolve_method,
)
from keras_transfer.metric_direction import higher_is_better
from keras_transfer.models.backbone_records import record_backbone, resolve_recorded_backbone
from keras_transfer.models.backbones import size_pair
from keras_transfer.ranking.rank import RankingTable, auto_scores, rank_spec
from keras_transfer.recipes.config import DATA_OPTIONS, FitConfig, options_doc, signature
from keras_transfer.recipes.context import RunContext
from keras_transfer.recipes.result import FitResult
from keras_transfer.serialization import is_remote, read_settings
from keras_transfer.train import resolve_class_weight, resolve_stages
from keras_transfer.train.callbacks.resume import join_path
from keras_transfer.train.precision import resolve_precision

# The key under which `FitResult.baselines` holds the run's own method, whatever its name.
MAIN = "fine_tuned"


def build_and_fit(*args, **options) -> FitResult:
    """Trains the strongest classifier a pretrained backbone gives, in one call.

    The default recipe (`method="fine_tune"`): the backbone's preprocessing
    inside the model; pretrained BatchNorm frozen in inference mode; the head
    trained first on cached features (starting at the linear probe), then
    the top blocks, then everything, each stage at a lower learning rate with
    warm-up and cosine decay, its own early stopping and best-weights restore;
    augmentation in training only; label smoothing; AdamW. Baselines asked
    for are scored on the same split, and the better model is kept.

    Every option is a field of `FitConfig` (listed below, by group); the
    first twelve may be given by position, in the order of the signature.

    Returns:
        A `FitResult`.

    Example:
        >>> result = keras_transfer.build_and_fit("flowers/", backbone="efficientnetv2b0")
        >>> result.metrics["accuracy"]
        >>> result = keras_transfer.build_and_fit("flowers/", baselines=["linear_probe", "scratch"])
    """
    return fit_config(FitConfig.from_arguments(*args, **options))


build_and_fit.__signature__ = signature()
build_and_fit.__doc__ += "\nOptions:\n" + options_doc() + "\n"


def fit_config(config: FitConfig, *, feature_store=None) -> FitResult:
    """Runs the recipe for a `FitConfig` (what `build_and_fit` and `build_and_fit_from_config` call).

    Args:
        config: the run's settings.
        feature_store: shares the frozen features between runs (a search's `SharedFeatures`; default none).

    Returns:
        A `FitResult`.

    Example:
        >>> fit_config(FitConfig.from_arguments(data="photos/", epochs=2))
    """
    started = time.perf_counter()
    log = Log(config.runtime.verbose)
    config = distribute_config(config)  # before any TensorFlow op: a multi-worker strategy must come first
    keras.utils.set_random_seed(config.runtime.seed)
    config = adaptation_config(config)  # adaptation= runs the domain_adaptation method
    from keras_transfer.text.recipe import fit_text, is_text_run  # text imports this module: imported here

    if is_text_run(config):  # text_column= or a text preset as backbone: the text recipe (same steps)
        return fit_text(config)
    method = resolve_method(config.training.method, config.training.method_options)
    baselines = resolve_baselines(config, method)
    train_spec, validation_spec, config = load_run_data(config, log)
    timings = {"data": time.perf_counter() - started}
    config, ranking = choose_backbone(config, train_spec, log)
    if ranking is not None:
        timings["ranking"] = time.perf_counter() - started - timings["data"]
    context = prepare_run(config, train_spec, validation_spec, method, log)
    context.ranking = ranking
    context.feature_store = feature_store
    context.timings.update(timings, build=time.perf_counter() - started - timings["data"])
    for candidate in [method, *baselines.values()]:
        candidate.check(context)
    extract_shared_features(context, [method, *baselines.values()])
    outcomes = {name: timed(context, name, baseline) for name, baseline in baselines.items()}
    outcomes[MAIN] = timed(context, "fit", method)
    if context.strategy is not None:  # multi-worker: plain copies, scored by each worker on all validation data
        outcomes = {name: dataclasses.replace(outcome, model=local_model(outcome.model, context.strategy))
                    for name, outcome in outcomes.items()}
    verdict = compare(context, outcomes)
    context.timings["total"] = time.perf_counter() - started
    return make_result(context, method, outcomes, verdict)


def distribute_config(config: FitConfig) -> FitConfig:
    """Step 0: the strategy of `strategy=` or `distribute=`, created (and the Keras fixes it needs installed)."""
    runtime = config.runtime
    if runtime.distribute is None and runtime.strategy is None:
        return config
    strategy = resolve_strategy(runtime.strategy, runtime.distribute, runtime.collective_timeout)
    return config.replace(strategy=strategy) if strategy is not runtime.strategy else config


def resolve_baselines(config: FitConfig, method: TransferMethod) -> dict[str, TransferMethod]:
    """The baseline methods to score beside the run's method, checked to exist and to combine with it."""
    asked = list(config.training.baselines)
    if method.honest_baseline is not None:  # a method is always compared with its plain alternative
        asked.append(method.honest_baseline)
    names = list(dict.fromkeys(asked))
    unknown = [name for name in names if name not in list_methods()]
    if unknown:
        raise ValueError(f"Unknown baseline(s) {unknown}: choose from {list_methods()}.")
    if names and config.data.validation_data is None and not config.data.validation_split:
        raise ValueError("Baselines are scored on validation data: give validation_data or validation_split > 0.")
    check_combination(method, names)
    return {name: resolve_method(name) for name in names if name != method.name}


def load_run_data(config: FitConfig, log: Log) -> tuple[DataSpec, DataSpec | None, FitConfig]:
    """Step 1: the training and validation data, scanned; settings a Keras 2 flow carries are taken from it.

    Returns:
        `(train spec, validation spec or None, config)`.
    """
    data_config = config.data
    if data_config.data is None:
        raise ValueError("build_and_fit needs data=: a folder, a CSV, arrays, a tf.data.Dataset or tfds:NAME.")
    train_spec, validation_spec = load_data(
        data_config.data, validation_data=data_config.validation_data, validation_split=data_config.validation_split,
        seed=config.runtime.seed, class_names=data_config.class_names, path_column=data_config.path_column,
        label_column=data_config.label_column, label_delimiter=data_config.label_delimiter, scan=data_config.scan,
        strict=data_config.strict, max_pixels=data_config.max_pixels,
    )
    flow = getattr(data_config.data, "keras_transfer_flow", None)
    if flow is not None:
        if flow.generator.rescale or flow.generator.preprocessing_function is not None:
            log.info("Note: the ImageDataGenerator's rescale/preprocessing_function is not used by build_and_fit: "
                     "its models take 0-255 pixels and apply the backbone's own preprocessing inside.")
        changes = {}
        if config.model.image_size is None:
            changes["image_size"] = flow.target_size
        if isinstance(data_config.augmentation, str) and data_config.augmentation == "default":
            changes["augmentation"] = flow.generator
        config = config.replace(**changes) if changes else config
    return train_spec, validation_spec, config


def choose_backbone(config: FitConfig, train_spec: DataSpec, log: Log) -> tuple[FitConfig, RankingTable | None]:
    """Step 1b: with `backbone="auto"`, ranks the candidates on the training split and takes the best.

    Returns:
        `(config with the chosen backbone and weights, the ranking)`, or `(config, None)` for a given backbone.
    """
    model_config = config.model
    if not (isinstance(model_config.backbone, str) and model_config.backbone == "auto"):
        return config, None
    if not model_config.candidates:
        raise ValueError("backbone='auto' ranks candidates: give candidates=[('mobilenet', 'imagenet'), "
                         "('vgg16', 'vgg16.weights.h5'), ...] (see keras_transfer.rank_backbones).")
    ranking = rank_spec(train_spec, model_config.candidates, scores=auto_scores(model_config.rank_by),
                        image_size=model_config.image_size,
                        batch_size=config.training.batch_size, seed=config.runtime.seed,
                        trusted=model_config.rank_by, log=log)
    best = ranking.best_candidate()
    log.info(f"Backbone 'auto': {best.name} ranks first by {ranking.trusted}.")
    return config.replace(backbone=best.backbone, weights=best.weights), ranking


def prepare_run(config: FitConfig, train_spec: DataSpec, validation_spec: DataSpec | None,
                method: TransferMethod, log: Log) -> RunContext:
    """Step 2: resolves the backbone, size, plan, precision and monitor; builds the model and the datasets.

    Returns:
        The `RunContext` every method of the run reads; its `config` is the resolved one.
    """
    runtime = config.runtime
    write_dir = chief_only.write_dir(runtime.output_dir, runtime.strategy)
    if write_dir is not None:
        check_output_dir(write_dir)
    spec = resolve_recorded_backbone(config.model.backbone)
    size = size_pair(config.model.image_size or spec.default_size)
    augment = resolve_augmentation(config.data.augmentation)
    plan = resolve_stages(config.training.stages, config.model.weights is not None, config.training.epochs,
                          peft=config.training.peft)
    monitor = config.training.monitor
    if validation_spec is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    resolved = config.replace(
        backbone=record_backbone(spec, write_dir), image_size=size,
        augmentation=augment.to_dict() if augment is not None else None, stages=plan,
        class_names=list(train_spec.class_names), monitor=monitor,
        mixed_precision=resolve_precision(runtime.mixed_precision, runtime.strategy),
        method=method.name, method_options=method.get_config(),
        drop_remainder=resolve_drop_remainder(runtime.drop_remainder, runtime.strategy, runtime.jit_compile),
    )
    context = RunContext(config=resolved, train_spec=train_spec, validation_spec=validation_spec, backbone=spec,
                         image_size=size, plan=plan, augmentation=augment, log=log,
                         class_weight=resolve_class_weight(config.training.class_weight, train_spec),
                         policy=resolved.runtime.mixed_precision, write_dir=write_dir)
    context.model = context.build_classifier()
    # One decoded-image cache per split, shared by the feature extraction, every method and the baselines:
    # each image is decoded once, and the augmented epochs all read the cache.
    batch_size, seed, cache = config.training.batch_size, runtime.seed, config.data.cache
    context.train_images = decoded_images(train_spec, size, cache=cache)
    context.train_dataset = shard_training(make_dataset(
        train_spec, size, batch_size, training=True, augmentation=augment, seed=seed, decoded=context.train_images,
        drop_remainder=resolved.runtime.drop_remainder), train_spec, runtime.strategy)
    if validation_spec is not None:
        context.validation_images = decoded_images(validation_spec, size, cache=cache)
        context.validation_dataset = evaluate_whole(make_dataset(validation_spec, size, batch_size,
                                                                 decoded=context.validation_images),
                                                    runtime.strategy)
    return context


def extract_shared_features(context: RunContext, methods: list[TransferMethod]) -> None:
    """Step 3: the frozen features, once, from the untrained model, for every method that reads them."""
    wanted = [views for views in (method.feature_views(context) for method in methods) if views is not None]
    if wanted:
        started = time.perf_counter()
        context.features(views=max(wanted))
        context.timings["features"] = time.perf_counter() - started


def timed(context: RunContext, step: str, method: TransferMethod) -> MethodResult:
    """Step 4: runs one method (a baseline, or the run's own), timing it."""
    started = time.perf_counter()
    outcome = method.fit(context)
    context.timings[step if step == "fit" else f"{step}_baseline"] = time.perf_counter() - started
    return outcome


@dataclass
class Verdict:
    """Step 5's answer: the scores, the warnings, and which model is kept."""

    scores: dict[str, dict[str, float]]
    kept: str = MAIN
    warnings: list[str] = field(default_factory=list)


def compare(context: RunContext, outcomes: dict[str, MethodResult]) -> Verdict:
    """Step 5: scores every model on the validation data, warns, and keeps the better one.

    A baseline that scores a higher validation accuracy than the run's method
    replaces it (negative transfer, or a method that hurt), with a warning.
    """
    scores = {name: context.score(outcome.model) for name, outcome in outcomes.items()}
    main = outcomes[MAIN]
    monitor = context.monitor
    others = {name: score for name, score in scores.items() if name != MAIN}
    warnings = imbalance_warnings(context.train_spec.class_counts()) + list(main.warnings)
    warnings += transfer_warnings(scores[MAIN].get("accuracy"), others)
    warnings += transfer_warnings(None, None, [(h["name"], h.get("best_value")) for h in main.history],
                                  metric=monitor, higher_is_better=higher_is_better(monitor))
    verdict = Verdict(scores=scores, warnings=warnings)
    best = max(scores, key=lambda name: scores[name].get("accuracy", -1.0))
    if best != MAIN and scores[best]["accuracy"] > scores[MAIN].get("accuracy", -1.0):
        verdict.kept = best
        warnings.append(f"Kept the {best} model: it scored validation accuracy {scores[best]['accuracy']:.4f} "
                        f"against {scores[MAIN]['accuracy']:.4f} for the fine-tuned one.")
    if main.kept_stage and main.history and main.kept_stage != main.history[-1]["name"]:
        warnings.append(f"Kept the weights of stage '{main.kept_stage}': the later stages did not improve "
                        f"{monitor}.")
    for line in warnings:
        context.log.warning(line)
    return verdict


def make_result(context: RunContext, method: TransferMethod, outcomes: dict[str, MethodResult],
                verdict: Verdict, result_class: type[FitResult] = FitResult) -> FitResult:
    """Step 6: the `FitResult` (or `result_class`, e.g. the text run's), its config saved to `output_dir`."""
    main = outcomes[MAIN]
    kept_model = outcomes[verdict.kept].model
    config = {**context.config.to_dict(), "multi_label": context.train_spec.multi_label}
    result = result_class(
        model=kept_model, history=main.history, class_names=list(context.train_spec.class_names),
        metrics=verdict.scores[verdict.kept], config=config,
        data_summary=summarize(context.train_spec, context.validation_spec), backbone=context.backbone,
        train_spec=context.train_spec, validation_spec=context.validation_spec, timings=context.timings,
        baselines=verdict.scores, warnings=verdict.warnings, kept=verdict.kept, kept_stage=main.kept_stage,
        fit_config=context.config, method_record={"name": method.name, **main.record},
        baseline_records={name: outcome.record for name, outcome in outcomes.items() if name != MAIN},
        ranking=context.ranking.to_dict() if context.ranking is not None else None,
    )
    if context.write_dir is not None:  # the chief's output_dir; a temporary folder on the other workers
        result.save_config(join_path(context.write_dir, "config.json"))
    return result


def check_output_dir(output_dir: str | os.PathLike) -> Path | str:
    """Fails before training, not after it, when results cannot be written (a folder, or a gs:// path)."""
    if is_remote(output_dir):
        return check_remote_dir(os.fspath(output_dir))
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


def build_and_fit_from_config(config: Mapping | str | os.PathLike | FitConfig, **overrides) -> FitResult:
    """Reruns a run from its saved config (a dict, a `FitConfig`, or a JSON/YAML file).

    Args:
        config: `FitResult.config`, a `FitConfig`, or the path of a file `save_config` wrote.
        **overrides: options that replace the config's (e.g. `data=` when
            the config's data was not a path, `verbose=0`).

    Returns:
        The new `FitResult`.

    Raises:
        ValueError: the config's data or backbone cannot be reloaded and no override gives it.

    Example:
        >>> again = build_and_fit_from_config("runs/flowers/config.json")
    """
    if isinstance(config, FitConfig):
        config = config.to_dict()
    elif not isinstance(config, Mapping):
        config = read_settings(config, "config")
    for key in (*DATA_OPTIONS, "backbone"):
        value = config.get(key)
        if key not in overrides and isinstance(value, str) and value.startswith("<"):
            why = ("a custom keras.Model that was not saved (the run had no output_dir)" if key == "backbone"
                   else value)
            raise ValueError(f"The config's {key} was {why}, which cannot be reloaded: pass {key}=.")
    return fit_config(FitConfig.from_dict(config, **overrides))


def check_remote_dir(output_dir: str) -> str:
    """`check_output_dir` for a `tf.io.gfile` path (`gs://...`): a probe file is written and removed."""
    import tensorflow as tf

    probe = join_path(output_dir, ".keras_transfer_write_test")
    try:
        tf.io.gfile.makedirs(output_dir)
        with tf.io.gfile.GFile(probe, "w") as handle:
            handle.write("ok")
        tf.io.gfile.remove(probe)
    except (tf.errors.OpError, OSError) as error:
        raise ValueError(f"Cannot write to output_dir {output_dir} ({error}): check the bucket's path and "
                         "permissions, or choose a local folder.") from error
    return output_dir
