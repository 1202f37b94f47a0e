"""Staged fine-tuning, the default method: head on cached features, then blocks from the top, each stage gentler.

The plan's head-only stages at its start train on features computed once
(the head starts at the linear probe's weights); the remaining stages run in
one `model.fit` with the `StagedUnfreeze` callback, which can be resumed
after a kill from the run's `output_dir`.
"""

from __future__ import annotations

import itertools
import json

import keras

from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.methods.linear_probe import probe_weights
from keras_transfer.models.classifier import get_backbone_layer
from keras_transfer.peft.outcome import check_peft_plan, check_resumable, finish_peft
from keras_transfer.train import run_plan
from keras_transfer.train.callbacks.resume import (
    ResumeCheckpoint,
    join_path,
    load_kept_weights,
    load_resume_model,
    load_resume_state,
)
from keras_transfer.train.feature_cache import fit_head_on_features

RESUME_DIR = "resume"
WITHOUT_VALIDATION = ("keep_probe", "fine_tune")
NO_VALIDATION_KEPT_PROBE = (
    "No validation data: nothing held out can check whether fine-tuning beats the linear probe it starts from "
    "(with few labels it often does not: on the Fashion-MNIST demo, 10 labels per class, staged fine-tuning ended "
    "below the probe on 2 of 3 seeds), so the linear probe is kept and the stages were not run. Give "
    "validation_data= (or validation_split > 0) to let the stages compete, or "
    "method_options={'without_validation': 'fine_tune'} to fine-tune anyway."
)
CHECKPOINT = "checkpoints/best.keras"


@register_method
class FineTune(TransferMethod):
    """The staged recipe (see `keras_transfer.default_stages` and `docs/training.md`).

    Options:
        without_validation: what a pretrained run with no validation data does:
            `"keep_probe"` (default) keeps the linear probe, with a warning, since
            nothing can check that fine-tuning improves on it; `"fine_tune"`
            runs the stages anyway (judged on training loss).

    Example:
        >>> build_and_fit("photos/", method="fine_tune", stages="default", epochs=5)
    """

    name = "fine_tune"
    uses_stages = True
    uses_features = True
    combines_with = frozenset({"linear_probe", "scratch"})
    option_defaults = {"without_validation": "keep_probe"}

    def __init__(self, **options):
        super().__init__(**options)
        if self.options["without_validation"] not in WITHOUT_VALIDATION:
            raise ValueError(f"fine_tune's without_validation must be one of {WITHOUT_VALIDATION}, got "
                             f"{self.options['without_validation']!r}.")

    def check(self, context) -> None:
        """The base checks, and that each parameter-efficient stage has parameters to train in this backbone."""
        super().check(context)
        check_peft_plan(context.plan, context.backbone.blocks(get_backbone_layer(context.model)),
                        context.backbone.name)

    def keeps_probe(self, context) -> bool:
        """Whether this run keeps the linear probe: pretrained, and nothing held out to check fine-tuning."""
        return (context.validation_spec is None and context.pretrained
                and self.options["without_validation"] == "keep_probe")

    def fit(self, context) -> MethodResult:
        if self.keeps_probe(context):
            return self.keep_probe(context)
        config = context.config
        output_dir = config.runtime.output_dir
        resume_dir = join_path(output_dir, RESUME_DIR) if output_dir is not None else None  # read: the chief's
        run_key = {"backbone": context.backbone.name, "stages": [stage.to_dict() for stage in context.plan],
                   "class_names": list(context.train_spec.class_names), "image_size": list(context.image_size)}
        if config.runtime.resume:
            check_resumable(context.plan)
        saved = saved_run(resume_dir, run_key, context.log) if config.runtime.resume else None
        model = context.model
        if saved is not None:
            with context.scope():
                model = load_resume_model(resume_dir)
            context.log.info(f"Resuming from {resume_dir}: {saved['epoch'] + 1} epochs of the plan done.")
        else:
            context.compile(model)

        cached = self.cached_stages(context)
        history: list[dict] = list(saved["cached_history"]) if saved is not None else []
        if saved is None and cached:
            history += self.fit_cached_stages(context, model, cached)
        remaining = context.plan[len(cached):]
        kept_stage = history[-1]["name"] if history else None
        warnings: list[str] = []
        finished = saved is not None and saved["plan"]["index"] >= len(remaining)
        if remaining and not finished:
            staged = self.run_remaining(context, model, remaining, history, saved, resume_dir, run_key)
            offset = sum(record["epochs_run"] for record in history)
            for record in staged.stage_history:
                record.setdefault("plan_first_epoch", record["first_epoch"])
                record["first_epoch"] = record["plan_first_epoch"] + offset
            history += staged.stage_history
            kept_stage, warnings = staged.kept_stage, list(staged.warnings)
        elif finished:
            history += saved["plan"]["stage_history"]
            kept_stage = saved["plan"]["overall_name"] or history[-1]["name"]
            warnings = list(saved["plan"]["warnings"])
        record = {"cached_stages": [stage.name for stage in cached]}
        peft = finish_peft(model, context.plan, context.backbone.blocks(get_backbone_layer(model)), history,
                           kept_stage, context.monitor, meta={"class_names": list(context.train_spec.class_names),
                                                              "image_size": list(context.image_size)})
        if peft.adapter is not None:
            record["adapter"] = peft.adapter  # FitResult.save_adapter writes it
        return MethodResult(peft.model, history=history, kept_stage=kept_stage, warnings=warnings + peft.warnings,
                            record=record)

    def feature_views(self, context) -> int | None:
        """Features for the cached head stages of a fresh (not resumed) run, or for the probe it keeps."""
        if self.keeps_probe(context):
            return 0
        if context.config.runtime.resume or not self.cached_stages(context):
            return None
        return context.config.training.feature_views

    @staticmethod
    def keep_probe(context) -> MethodResult:
        """No validation data: nothing can tell whether fine-tuning beats the probe it starts from; keep the probe."""
        from keras_transfer.methods.linear_probe import LinearProbe

        probe = LinearProbe().fit(context)
        probe.warnings.append(NO_VALIDATION_KEPT_PROBE)
        probe.record = {**probe.record, "kept": "linear_probe", "without_validation": "keep_probe"}
        return probe

    @staticmethod
    def cached_stages(context) -> list:
        """The head-only stages at the start of a pretrained plan, trained on cached features."""
        training = context.config.training
        if not (training.feature_cache and context.pretrained):
            return []
        return list(itertools.takewhile(lambda stage: stage.train_blocks == 0, context.plan))

    @staticmethod
    def fit_cached_stages(context, model: keras.Model, cached: list) -> list[dict]:
        """The head-only stages on cached features, the head warm-started at the linear probe."""
        training = context.config.training
        train_features, val_features = context.features(views=training.feature_views)
        warm_start = training.head_init == "linear_probe" and not context.config.model.hidden_units
        if warm_start:  # start the head at the logistic regression of the features, not at random
            features, labels = context.clean_features()
            model.get_layer("predictions").set_weights(list(probe_weights(
                features, labels, multi_label=context.train_spec.multi_label, seed=context.seed)))
        records = []
        for stage in cached:
            loss, metrics = context.loss_and_metrics()
            records.append(fit_head_on_features(
                model, train_features, val_features, stage, loss=loss, metrics=metrics,
                batch_size=training.batch_size, class_weight=context.class_weight, monitor=context.monitor,
                keep_initial=bool(warm_start), verbose=context.verbose, strategy=context.strategy,
                seed=context.seed))
        return records

    @staticmethod
    def run_remaining(context, model, remaining, history, saved, resume_dir, run_key):
        """The stages that train backbone blocks, in one `model.fit` (resumable)."""
        previous = (history[-1]["name"], history[-1]["best_value"]) if history else None
        cached_history = list(history)
        callbacks = list(context.config.runtime.callbacks)
        write_dir = context.write_dir  # the chief's output_dir; a temporary folder on the other workers
        if write_dir is not None:
            callbacks.append(keras.callbacks.ModelCheckpoint(
                join_path(write_dir, CHECKPOINT), monitor=context.monitor, save_best_only=True))

        def before_fit(staged):
            if saved is not None:
                staged.resume(saved["plan"], **load_kept_weights(resume_dir))
            extra = {"cached_history": cached_history, "run_key": run_key}
            return [ResumeCheckpoint(join_path(write_dir, RESUME_DIR), staged, extra)] if write_dir is not None else []

        return run_plan(model, remaining, context.backbone.blocks(get_backbone_layer(model)),
                        context.train_dataset, context.validation_dataset, monitor=context.monitor,
                        freeze_batchnorm=context.pretrained, class_weight=context.class_weight,
                        callbacks=callbacks, verbose=context.verbose, previous_best=previous,
                        initial_epoch=saved["epoch"] + 1 if saved is not None else 0, before_fit=before_fit,
                        precise_batchnorm=context.config.training.precise_batchnorm and not context.pretrained)


def saved_run(resume_dir: str | None, run_key: dict, log) -> dict | None:
    """The resume state of the run in `resume_dir`, checked to be this run's.

    Args:
        resume_dir: the run's resume folder (None: no output_dir was given).
        run_key: backbone, stages, classes and image size of this run.
        log: the run's logger.

    Returns:
        The saved state, or None when there is nothing to resume.

    Raises:
        ValueError: no output_dir, or the folder holds a different run.
    """
    if resume_dir is None:
        raise ValueError("resume=True needs output_dir=, the folder of the run to resume.")
    saved = load_resume_state(resume_dir)
    if saved is None:
        log.note(f"Nothing to resume in {resume_dir}: starting the run from the beginning.")
        return None
    if saved.get("run_key") != json.loads(json.dumps(run_key)):
        raise ValueError(
            f"{resume_dir} holds a different run (its backbone, stages, classes or image size differ from these "
            "arguments): pass the same arguments to resume it, or resume=False to start over."
        )
    return saved
