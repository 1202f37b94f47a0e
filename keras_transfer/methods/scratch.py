"""From scratch: the same network from random weights, on the same split, as a direct from-scratch run trains it.

The answer to "did transfer help?": a pretrained run that cannot beat this
has transferred nothing (negative transfer), and the recipe says so.
"""

from __future__ import annotations

import keras

from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.train import default_stages, run_plan


@register_method
class Scratch(TransferMethod):
    """Trains the run's architecture from random weights with the from-scratch plan (BatchNorm trains).

    It is the run `build_and_fit(weights=None)` would make with the same data,
    seed and `epochs` (same initial weights, same plan, precise BatchNorm), given
    at least as many epochs as the run's own plan.

    Example:
        >>> build_and_fit("photos/", baselines=["scratch"])
    """

    name = "scratch"
    combines_with = frozenset({"fine_tune", "linear_probe"})

    def fit(self, context) -> MethodResult:
        keras.utils.set_random_seed(context.seed)  # the same initial weights as a direct from-scratch run
        model = context.compile(context.build_classifier(weights=None))
        plan = scratch_plan(context.plan, context.config.training.epochs)
        staged = run_plan(model, plan, None, context.train_dataset, context.validation_dataset,
                          monitor=context.monitor, freeze_batchnorm=False, class_weight=context.class_weight, verbose=0,
                          precise_batchnorm=context.config.training.precise_batchnorm)
        history = staged.stage_history
        record = {"epochs": plan[0].epochs, "stages": [stage["name"] for stage in history],
                  "recipe": describe_recipe(plan, history)}
        return MethodResult(model, history=history, kept_stage=staged.kept_stage, record=record)


def scratch_plan(run_plan_stages: list, epochs: int | None) -> list:
    """The from-scratch plan: what `build_and_fit(weights=None, epochs=epochs)` runs, never shorter than the run.

    Args:
        run_plan_stages: the run's own stages (their epochs sum to its budget).
        epochs: the run's `epochs` option.

    Returns:
        The one-stage from-scratch plan, with max(the scratch default, the run's total) epochs.

    Example:
        >>> scratch_plan(default_stages(True), None)[0].epochs   # 3 stages of 5 vs scratch's 20
        20
    """
    direct = default_stages(pretrained=False, epochs=epochs)
    budget = max(sum(int(stage.epochs) for stage in run_plan_stages), sum(int(stage.epochs) for stage in direct))
    return default_stages(pretrained=False, epochs=budget)


def describe_recipe(plan: list, history: list[dict]) -> str:
    """One sentence on how the scratch model was trained, for the report.

    Args:
        plan: the stages it ran.
        history: their records.

    Returns:
        The sentence.

    Example:
        >>> describe_recipe(default_stages(False, 20), staged.stage_history)
        'random weights, every layer and BatchNorm training ...'
    """
    parts = []
    for stage, record in zip(plan, history):
        parts.append(f"stage '{stage.name}' up to {stage.epochs} epochs at lr {stage.learning_rate:g} "
                     f"({stage.schedule}, {stage.warmup_epochs:g} warm-up), early-stopping patience {stage.patience}: "
                     f"ran {record['epochs_run']}, kept epoch {record.get('best_epoch', -1) + 1}")
    return ("random weights, every layer and BatchNorm training, BatchNorm statistics recomputed over training "
            "batches before each validation (precise BatchNorm); " + "; ".join(parts))
