"""From scratch: the same network from random weights, same split, same epoch budget.

The answer to "did transfer help?": a pretrained run that cannot beat this
has transferred nothing (negative transfer), and the recipe says so.
"""

from __future__ import annotations

from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.train import default_stages, run_plan


@register_method
class Scratch(TransferMethod):
    """Trains the run's architecture from random weights with the from-scratch plan (BatchNorm trains).

    The epoch budget is the run's: the sum of its stages' epochs.

    Example:
        >>> build_and_fit("photos/", baselines=["scratch"])
    """

    name = "scratch"
    combines_with = frozenset({"fine_tune", "linear_probe"})

    def fit(self, context) -> MethodResult:
        model = context.compile(context.build_classifier(weights=None))
        budget = sum(int(stage.epochs) for stage in context.plan)
        staged = run_plan(model, default_stages(pretrained=False, epochs=budget), None, context.train_dataset,
                          context.validation_dataset, monitor=context.monitor, freeze_batchnorm=False,
                          class_weight=context.class_weight, verbose=0)
        return MethodResult(model, history=staged.stage_history, kept_stage=staged.kept_stage,
                            record={"epochs": budget, "stages": [stage["name"] for stage in staged.stage_history]})
