"""Training: stage plans, optimizers, losses, the feature cache and the callbacks that run a plan."""

from keras_transfer.train.staged import (
    NO_WEIGHT_DECAY,
    SCHEDULES,
    LayerwiseAdamW,
    Stage,
    StagedUnfreeze,
    default_stages,
    loss_and_metrics,
    make_optimizer,
    resolve_class_weight,
    resolve_stages,
    run_plan,
    select_blocks,
)

__all__ = [
    "NO_WEIGHT_DECAY", "SCHEDULES", "LayerwiseAdamW", "Stage", "StagedUnfreeze", "default_stages", "loss_and_metrics",
    "make_optimizer", "resolve_class_weight", "resolve_stages", "run_plan", "select_blocks",
]
