"""Optimizers for a stage: AdamW with the stage's schedule and layer-wise learning rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras

from keras_transfer.models.backbones import Block
from keras_transfer.train.stages import Stage

# Names (regex) of variables that AdamW's decoupled weight decay leaves alone.
NO_WEIGHT_DECAY = ["bias", "gamma", "beta", "layer_scale"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class LayerwiseAdamW(keras.optimizers.AdamW):
    """AdamW whose learning rate is scaled per variable (layer-wise learning-rate decay).

    Args:
        lr_multipliers: `{variable path: factor}`; variables not named use 1.0.
        no_weight_decay: regexes of variable names weight decay leaves alone
            (kept in the config, so a reloaded optimizer decays the same variables).
        **kwargs: everything `keras.optimizers.AdamW` takes.

    Example:
        >>> optimizer = LayerwiseAdamW({"dense/kernel": 0.5}, learning_rate=1e-3)
    """

    def __init__(self, lr_multipliers: Mapping[str, float] | None = None,
                 no_weight_decay: Sequence[str] = tuple(NO_WEIGHT_DECAY), **kwargs):
        super().__init__(**kwargs)
        self.lr_multipliers = dict(lr_multipliers or {})
        self.no_weight_decay = list(no_weight_decay)
        self.exclude_from_weight_decay(var_names=self.no_weight_decay)

    def build(self, var_list):
        super().build(var_list)
        # Indexed like the optimizer's own slots: the update step may see the
        # backend's variable rather than the Keras one.
        self._lr_factors = [self.lr_multipliers.get(variable.path, 1.0) for variable in var_list]

    def update_step(self, gradient, variable, learning_rate):
        # `_get_variable_index` is how Keras' own optimizers find a variable's
        # slots in `update_step`; the base optimizer offers no public lookup.
        factor = self._lr_factors[self._get_variable_index(variable)] if self.lr_multipliers else 1.0
        if factor != 1.0:
            learning_rate = keras.ops.cast(learning_rate, variable.dtype) * factor
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": self.lr_multipliers,
                "no_weight_decay": self.no_weight_decay}


def make_optimizer(
    stage: Stage,
    steps_per_epoch: int | None,
    lr_multipliers: Mapping[str, float] | None = None,
) -> keras.optimizers.Optimizer:
    """The optimizer for one stage: AdamW with the stage's schedule.

    Args:
        stage: the stage.
        steps_per_epoch: training steps per epoch, for the cosine schedule
            (None: unknown, the learning rate stays constant).
        lr_multipliers: per-variable learning-rate factors (layer-wise decay).

    Returns:
        A `LayerwiseAdamW`.

    Example:
        >>> optimizer = make_optimizer(Stage("head", epochs=3, learning_rate=1e-3), steps_per_epoch=100)
    """
    learning_rate = stage.learning_rate
    if stage.schedule == "cosine" and steps_per_epoch:
        total = max(1, int(stage.epochs * steps_per_epoch))
        warmup = min(total - 1, int(round(stage.warmup_epochs * steps_per_epoch)))
        learning_rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=stage.learning_rate / 10 if warmup else stage.learning_rate,
            decay_steps=max(1, total - warmup),
            alpha=0.01,
            warmup_target=stage.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    return LayerwiseAdamW(lr_multipliers=lr_multipliers, learning_rate=learning_rate,
                          weight_decay=stage.weight_decay)


def layerwise_lr_multipliers(trained: Sequence[Block], decay: float | None) -> dict[str, float]:
    """Per-variable learning-rate factors: 1 for the top trained block, `decay` per block below it.

    Args:
        trained: the blocks a stage trains, bottom first.
        decay: the factor between a block and the one above it; None or 0: no factors.

    Returns:
        `{variable path: factor}` for the trained blocks' variables (empty without decay).

    Example:
        >>> layerwise_lr_multipliers(trained_blocks, 0.5)  # top block 1.0, the next 0.5, then 0.25, ...
    """
    if not decay:
        return {}
    multipliers = {}
    for depth, block in enumerate(reversed(trained)):
        for layer in block.layers:
            for variable in layer.trainable_weights:
                multipliers[variable.path] = float(decay**depth)
    return multipliers
