"""Training: stage plans, optimizers, losses, the feature cache and the callbacks that run a plan."""

from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze
from keras_transfer.train.losses import loss_and_metrics, resolve_class_weight
from keras_transfer.train.optimizers import NO_WEIGHT_DECAY, LayerwiseAdamW, make_optimizer
from keras_transfer.train.plan import run_plan
from keras_transfer.train.stages import SCHEDULES, Stage, default_stages, resolve_stages, select_blocks

__all__ = [
    "NO_WEIGHT_DECAY", "SCHEDULES", "LayerwiseAdamW", "Stage", "StagedUnfreeze", "default_stages", "loss_and_metrics",
    "make_optimizer", "resolve_class_weight", "resolve_stages", "run_plan", "select_blocks",
]
