"""Staged fine-tuning: stage plans, the `StagedUnfreeze` callback and its optimizers.

One `model.fit` call runs the whole plan. At each stage's first epoch the
callback sets which blocks train (BatchNorm stays frozen), gives the model a
fresh optimizer with the stage's learning rate and schedule, and rebuilds the
train function. Each stage has its own early stopping on the monitored metric,
restores its best weights when it ends, and the next stage starts from them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields

import keras
import numpy as np

from keras_transfer.data.pipeline import label_mode
from keras_transfer.data.sources import DataSpec
from keras_transfer.models.backbones import Block
from keras_transfer.models.classifier import batchnorm_layers, get_backbone_layer, model_blocks

SCHEDULES = ("cosine", "constant", "plateau")
# Names (regex) of variables that AdamW's decoupled weight decay leaves alone.
NO_WEIGHT_DECAY = ["bias", "gamma", "beta", "layer_scale"]


@dataclass
class Stage:
    """One stage of a fine-tuning plan.

    Args:
        name: shown in logs, history and reports.
        epochs: the most epochs the stage runs (early stopping may end it sooner).
        learning_rate: peak learning rate of the stage.
        train_blocks: which backbone blocks train: `0` (head only), an int N
            (the top N blocks), a float in (0, 1) (that share of the blocks,
            from the top), `"all"`, or a list of block names. The head always trains.
        schedule: `"cosine"` (linear warm-up, then cosine decay to 1% of the
            peak), `"constant"`, or `"plateau"` (constant, divided by 5 after
            `plateau_patience` epochs without improvement; restarted each stage).
        warmup_epochs: epochs of linear warm-up (cosine schedule only).
        patience: early stopping: epochs without improvement before the stage
            ends (its best weights restored); None runs every epoch.
        plateau_patience: epochs without improvement before a plateau cut.
        weight_decay: AdamW's decoupled weight decay.
        layerwise_lr_decay: e.g. 0.7: each unfrozen block below the top one
            learns at 0.7 times the rate of the block above it; None: one rate.

    Example:
        >>> Stage("head", epochs=5, learning_rate=1e-3, train_blocks=0)
    """

    name: str = "stage"
    epochs: int = 5
    learning_rate: float = 1e-3
    train_blocks: int | float | str | list = 0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    patience: int | None = 3
    plateau_patience: int = 2
    weight_decay: float = 0.01
    layerwise_lr_decay: float | None = None

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Stage {self.name!r}: schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if int(self.epochs) < 1:
            raise ValueError(f"Stage {self.name!r}: epochs must be at least 1, got {self.epochs}.")
        if not self.learning_rate > 0:
            raise ValueError(f"Stage {self.name!r}: learning_rate must be positive, got {self.learning_rate}.")
        if isinstance(self.train_blocks, tuple):
            self.train_blocks = list(self.train_blocks)

    @classmethod
    def from_dict(cls, spec: Mapping) -> Stage:
        """A stage from a dict of its fields (as `to_dict` and the JSON config write them)."""
        known = {f.name for f in fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"Unknown stage option(s) {sorted(unknown)}; a stage takes {sorted(known)}.")
        return cls(**spec)

    def to_dict(self) -> dict:
        return asdict(self)


def default_stages(pretrained: bool, epochs: int | None = None) -> list[Stage]:
    """The plan `build_and_fit` uses when `stages="default"`.

    Pretrained: head only (lr 1e-3), then the top third of the blocks (1e-4,
    layer-wise decay 0.8), then everything (2e-5). From scratch: one stage
    training everything (1e-3).

    Args:
        pretrained: whether the backbone starts from pretrained weights.
        epochs: the most epochs per stage (default 5 per stage pretrained, 20 from scratch).

    Returns:
        A list of `Stage`.
    """
    if not pretrained:
        return [Stage("all", epochs=epochs or 20, learning_rate=1e-3, train_blocks="all",
                      warmup_epochs=1 if (epochs or 20) > 2 else 0, patience=5)]
    per_stage = epochs or 5
    return [
        Stage("head", epochs=per_stage, learning_rate=1e-3, train_blocks=0),
        Stage("top_blocks", epochs=per_stage, learning_rate=1e-4, train_blocks=1 / 3,
              warmup_epochs=1 if per_stage > 2 else 0, layerwise_lr_decay=0.8),
        Stage("all", epochs=per_stage, learning_rate=2e-5, train_blocks="all",
              warmup_epochs=1 if per_stage > 2 else 0, layerwise_lr_decay=0.8),
    ]


def resolve_stages(stages, pretrained: bool, epochs: int | None = None) -> list[Stage]:
    """Turns `"default"`, a list of `Stage` or dicts into a list of `Stage`."""
    if stages in (None, "default"):
        return default_stages(pretrained, epochs)
    if isinstance(stages, (Stage, Mapping)):
        stages = [stages]
    resolved = [s if isinstance(s, Stage) else Stage.from_dict(s) for s in stages]
    if not resolved:
        raise ValueError("stages is empty: give at least one stage, or stages='default'.")
    return resolved


@keras.saving.register_keras_serializable(package="keras_transfer")
class LayerwiseAdamW(keras.optimizers.AdamW):
    """AdamW whose learning rate is scaled per variable (layer-wise learning-rate decay).

    Args:
        lr_multipliers: `{variable path: factor}`; variables not named use 1.0.
        no_weight_decay: regexes of variable names weight decay leaves alone
            (kept in the config, so a reloaded optimizer decays the same variables).
        **kwargs: everything `keras.optimizers.AdamW` takes.
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


@dataclass
class _StageState:
    index: int = 0
    epochs_run: int = 0
    best: float = math.inf
    best_epoch: int = -1
    wait: int = 0
    best_weights: list | None = field(default=None, repr=False)


class StagedUnfreeze(keras.callbacks.Callback):
    """Runs a staged fine-tuning plan inside one `model.fit` call.

    Works with any Keras model: blocks default to those of a `build_model`
    classifier's backbone, or are found from the model's layers. Layers outside
    the blocks (the head) always train.

    Args:
        stages: a list of `Stage` (or dicts), run in order.
        blocks: the ordered blocks (see `model_blocks`); default: found from the model.
        monitor: the metric each stage's early stopping watches.
        mode: `"min"`, `"max"` or `"auto"` (max for names with "acc" or "auc").
        restore_best_weights: restore each stage's best weights when it ends.
        freeze_batchnorm: keep every BatchNormalization layer of the backbone
            frozen (inference mode) in every stage. Turn off only for a
            backbone trained from scratch.
        verbose: 1 prints a line when a stage starts and ends.
        previous_best: `(stage name, best monitored value)` of a stage run
            before this plan (on cached features): if no stage of the plan
            beats it, its weights (the model's at the start) are kept.

    Attributes:
        stage_history: one dict per stage run: name, first epoch, epochs run,
            best epoch and value, whether it stopped early, the trainable
            blocks and the per-epoch metrics.
        total_epochs: the `epochs` to give `model.fit` (the sum of the stages').
        warnings: sentences about stages whose loss became NaN or infinite.
        kept_stage: the stage whose weights the model ends with: the last one,
            unless an earlier stage scored better on `monitor` (then its
            weights are restored when the plan ends).

    Example:
        >>> plan = StagedUnfreeze([Stage("head", 3, 1e-3, 0), Stage("all", 3, 1e-5, "all")])
        >>> model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        >>> model.fit(train, validation_data=val, epochs=plan.total_epochs, callbacks=[plan])
    """

    def __init__(
        self,
        stages: Sequence[Stage | Mapping],
        blocks: Sequence[Block] | None = None,
        monitor: str = "val_loss",
        mode: str = "auto",
        restore_best_weights: bool = True,
        freeze_batchnorm: bool = True,
        verbose: int = 1,
        optimizer_factory: Callable[[Stage, int | None, Mapping], keras.optimizers.Optimizer] = make_optimizer,
        previous_best: tuple[str, float] | None = None,
    ):
        super().__init__()
        self.stages = resolve_stages(list(stages), pretrained=True)
        self.blocks = list(blocks) if blocks is not None else None
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if any(key in monitor for key in ("acc", "auc")) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}.")
        self._sign = 1.0 if mode == "min" else -1.0
        self.restore_best_weights = restore_best_weights
        self.freeze_batchnorm = freeze_batchnorm
        self.verbose = verbose
        self.optimizer_factory = optimizer_factory
        self.stage_history: list[dict] = []
        self.kept_stage: str | None = None
        self._resume: tuple | None = None
        self.warnings: list[str] = []
        self._diverged_at: int | None = None
        self._stage_start_weights: list | None = None
        self.previous_best = previous_best
        self._overall: tuple[float, str, list | None] = (math.inf, "", None)
        self._state = _StageState()
        self._start_pending = True
        self._warned_monitor = False
        self._stage_started = time.perf_counter()

    @property
    def total_epochs(self) -> int:
        return sum(int(stage.epochs) for stage in self.stages)

    @property
    def current_stage(self) -> Stage | None:
        index = self._state.index
        return self.stages[index] if index < len(self.stages) else None

    # --- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self.blocks is None:
            self.blocks = model_blocks(self.model)
        if self.previous_best is not None and self.previous_best[1] is not None:
            name, value = self.previous_best
            self._overall = (self._sign * value, name, self.model.get_weights())
        self._start_pending = True
        if self._resume is not None:
            self._restore(*self._resume)
            self._resume = None

    # --- resuming ------------------------------------------------------------

    def get_state(self) -> dict:
        """The plan's progress as JSON-able data (weights are saved separately)."""
        state, (overall_best, overall_name, _) = self._state, self._overall
        return {
            "index": state.index, "epochs_run": state.epochs_run, "best_epoch": state.best_epoch,
            "wait": state.wait, "best": state.best if math.isfinite(state.best) else None,
            "start_pending": self._start_pending, "stage_history": self.stage_history, "warnings": self.warnings,
            "overall_name": overall_name, "overall_best": overall_best if math.isfinite(overall_best) else None,
        }

    def weights_to_keep(self) -> dict[str, list | None]:
        """The weights the plan may restore later: the current stage's best and the best stage's."""
        return {"stage_best": self._state.best_weights, "overall_best": self._overall[2]}

    def resume(self, state: Mapping, stage_best: list | None, overall_best: list | None) -> None:
        """Continues from `get_state()` data and the saved weights when training begins.

        The model must already hold the saved weights and optimizer state: the
        current stage goes on with that optimizer instead of a fresh one.
        """
        self._resume = (dict(state), stage_best, overall_best)

    def _restore(self, state: dict, stage_best, overall_best) -> None:
        self._state = _StageState(
            index=state["index"], epochs_run=state["epochs_run"], best_epoch=state["best_epoch"],
            wait=state["wait"], best=state["best"] if state["best"] is not None else math.inf,
            best_weights=stage_best,
        )
        self.stage_history = list(state["stage_history"])
        self.warnings = list(state["warnings"])
        overall = state["overall_best"] if state["overall_best"] is not None else math.inf
        self._overall = (overall, state["overall_name"], overall_best)
        self._start_pending = state["start_pending"]
        if not self._start_pending and self.current_stage is not None:
            self.set_trainable(self.current_stage)
            self._stage_start_weights = self.model.get_weights()
            self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        if self._start_pending and self.current_stage is not None:
            self._start_stage(epoch)
            self._start_pending = False

    def on_epoch_end(self, epoch, logs=None):
        stage, state = self.current_stage, self._state
        if stage is None:
            return
        logs = dict(logs or {})
        record = self.stage_history[-1]
        for key, value in logs.items():
            record["metrics"].setdefault(key, []).append(float(value))
        state.epochs_run += 1
        record["epochs_run"] = state.epochs_run

        value = self._monitored(logs)
        if self._diverged_at is not None or (value is not None and not math.isfinite(value)):
            self._end_diverged_stage(epoch, record)
            return
        if state.best_epoch < 0 or (value is not None and self._sign * value < state.best):
            state.best = self._sign * value if value is not None else math.inf
            state.best_epoch = epoch
            state.wait = 0
            if self.restore_best_weights:
                state.best_weights = self.model.get_weights()
        else:
            state.wait += 1
            if stage.schedule == "plateau" and state.wait % stage.plateau_patience == 0:
                self._cut_learning_rate(0.2)

        out_of_patience = stage.patience is not None and state.wait >= stage.patience
        if state.epochs_run >= stage.epochs or out_of_patience:
            self._end_stage(epoch, stopped_early=out_of_patience and state.epochs_run < stage.epochs)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and self._diverged_at is None and not math.isfinite(float(loss)):
            self._diverged_at = batch
            self.model.stop_training = True  # ends this epoch; on_epoch_end decides what comes next

    # --- stages ------------------------------------------------------------

    def _end_diverged_stage(self, epoch: int, record: dict):
        """NaN/inf loss: restore the stage's best (or starting) weights, end the stage, go on with the plan."""
        step, self._diverged_at = self._diverged_at, None
        state = self._state
        self.model.set_weights(state.best_weights if state.best_weights is not None else self._stage_start_weights)
        state.best_weights = None
        where = f"epoch {epoch + 1}" + (f", step {step + 1}" if step is not None else "")
        message = (f"Stage '{record['name']}': the loss became NaN or infinite at {where}; restored the stage's "
                   "best weights and ended the stage. Lower the stage's learning_rate (or check the data for "
                   "NaN pixels or labels).")
        record["diverged"] = {"epoch": epoch, "step": step}
        self.warnings.append(message)
        if self.verbose:
            print(f"\n{message}")
        self._end_stage(epoch, stopped_early=True)
        if self.current_stage is not None:
            self.model.stop_training = False

    def _start_stage(self, epoch: int):
        stage = self.current_stage
        self._stage_start_weights = self.model.get_weights()
        trained = self.set_trainable(stage)
        steps = (self.params or {}).get("steps")
        multipliers = self._lr_multipliers(stage, trained)
        strategy = getattr(self.model, "distribute_strategy", None)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            optimizer = self.optimizer_factory(stage, steps, multipliers)
            if getattr(self.model, "dtype_policy", None) is not None and \
                    self.model.dtype_policy.name == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(self.model.trainable_variables)
        self.model.optimizer = optimizer
        # A saved model (checkpoint, resume) must record this optimizer, not the one given to compile().
        compile_config = getattr(self.model, "_compile_config", None)
        if compile_config is not None:
            compile_config.config["optimizer"] = optimizer
        self.model.make_train_function(force=True)
        self._state = _StageState(index=self._state.index)
        self.stage_history.append({
            "name": stage.name,
            "stage": stage.to_dict(),
            "first_epoch": epoch,
            "epochs_run": 0,
            "trainable_blocks": [block.name for block in trained],
            "trainable_params": int(sum(np.prod(v.shape) for v in self.model.trainable_variables)),
            "metrics": {},
        })
        self._stage_started = time.perf_counter()
        if self.verbose:
            print(f"\nStage {self._state.index + 1}/{len(self.stages)} '{stage.name}': "
                  f"training {len(trained)}/{len(self.blocks)} backbone blocks + head, "
                  f"lr {stage.learning_rate:g} ({stage.schedule}), up to {stage.epochs} epochs")

    def _end_stage(self, epoch: int, stopped_early: bool):
        state, record = self._state, self.stage_history[-1]
        if self.restore_best_weights and state.best_weights is not None and state.best_epoch != epoch:
            self.model.set_weights(state.best_weights)
        record.update(
            best_epoch=state.best_epoch,
            best_value=self._sign * state.best if math.isfinite(state.best) else None,
            stopped_early=stopped_early,
            wall_seconds=time.perf_counter() - self._stage_started,
        )
        if self.verbose:
            best = record["best_value"]
            print(f"Stage '{record['name']}' ended after {state.epochs_run} epochs"
                  f"{' (early stop)' if stopped_early else ''}; best {self.monitor} "
                  f"{best if best is None else f'{best:.4f}'} at epoch {state.best_epoch + 1}")
        if math.isfinite(state.best) and state.best <= self._overall[0]:
            weights = self.model.get_weights() if self.restore_best_weights else None
            self._overall = (state.best, record["name"], weights)
        self._state = _StageState(index=state.index + 1)
        self._start_pending = True
        if self.current_stage is None:
            self.model.stop_training = True
            self._keep_best_stage()

    def _keep_best_stage(self):
        """After the last stage: if an earlier stage scored better, its weights are the ones kept."""
        best, name, weights = self._overall
        self.kept_stage = name or None
        if name and name != self.stage_history[-1]["name"] and weights is not None:
            self.model.set_weights(weights)
            if self.verbose:
                print(f"Kept the weights of stage '{name}': later stages did not improve {self.monitor}.")

    def set_trainable(self, stage: Stage) -> list[Block]:
        """Makes exactly `stage`'s blocks (and the head) trainable; returns those blocks."""
        trained = select_blocks(self.blocks, stage.train_blocks)
        in_blocks = {id(layer) for block in self.blocks for layer in block.layers}
        trained_ids = {id(layer) for block in trained for layer in block.layers}
        backbone = get_backbone_layer(self.model)
        if backbone is not None:
            backbone.trainable = bool(trained)
        for layer in self.model.layers:
            if layer is not backbone and id(layer) not in in_blocks:
                layer.trainable = True  # the head
        for block in self.blocks:
            for layer in block.layers:
                layer.trainable = id(layer) in trained_ids
        if self.freeze_batchnorm:
            for layer in batchnorm_layers(backbone or self.model):
                if backbone is not None or id(layer) in in_blocks:
                    layer.trainable = False
        return trained

    def _lr_multipliers(self, stage: Stage, trained: list[Block]) -> dict[str, float]:
        if not stage.layerwise_lr_decay:
            return {}
        multipliers = {}
        for depth, block in enumerate(reversed(trained)):
            for layer in block.layers:
                for variable in layer.trainable_weights:
                    multipliers[variable.path] = float(stage.layerwise_lr_decay**depth)
        return multipliers

    def _cut_learning_rate(self, factor: float):
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        optimizer.learning_rate = float(optimizer.learning_rate) * factor

    def _monitored(self, logs: Mapping) -> float | None:
        if self.monitor in logs:
            return float(logs[self.monitor])
        if not self._warned_monitor:
            self._warned_monitor = True
            print(f"StagedUnfreeze: '{self.monitor}' is not in the logs ({sorted(logs)}); "
                  "early stopping is off. Pass validation data to monitor a val_ metric.")
        return None


def select_blocks(blocks: Sequence[Block], train_blocks) -> list[Block]:
    """The blocks a stage trains, from its `train_blocks` setting."""
    count = len(blocks)
    if isinstance(train_blocks, str):
        if train_blocks == "all":
            return list(blocks)
        train_blocks = [train_blocks]
    if isinstance(train_blocks, bool):
        raise ValueError("train_blocks must be an int, a float share, 'all' or block names, not a bool.")
    if isinstance(train_blocks, int):
        if train_blocks < 0:
            raise ValueError(f"train_blocks must be >= 0, got {train_blocks}.")
        return list(blocks[count - min(train_blocks, count):]) if train_blocks else []
    if isinstance(train_blocks, float):
        if not 0 < train_blocks <= 1:
            raise ValueError(f"A train_blocks share must be in (0, 1], got {train_blocks}.")
        return list(blocks[count - max(1, math.ceil(train_blocks * count)):])
    names = [block.name for block in blocks]
    unknown = [name for name in train_blocks if name not in names]
    if unknown:
        raise ValueError(f"Unknown block(s) {unknown}: this backbone's blocks are {names}.")
    return [block for block in blocks if block.name in set(train_blocks)]


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


def run_plan(
    model: keras.Model,
    stages: Sequence[Stage],
    blocks: Sequence[Block] | None,
    train_ds,
    val_ds,
    *,
    monitor: str = "val_loss",
    freeze_batchnorm: bool = True,
    class_weight: Mapping | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 1,
    previous_best: tuple[str, float] | None = None,
    initial_epoch: int = 0,
    before_fit: Callable[[StagedUnfreeze], Sequence[keras.callbacks.Callback]] | None = None,
) -> StagedUnfreeze:
    """Runs a stage plan on a compiled model with one `model.fit` call.

    Args:
        model: a compiled model.
        stages: the plan.
        blocks: the backbone's blocks (None: found from the model).
        train_ds, val_ds: batched datasets (val_ds may be None).
        monitor: what each stage's early stopping watches (`val_` dropped without validation data).
        freeze_batchnorm: keep the backbone's BatchNorm frozen (pretrained backbones).
        class_weight: per-class loss weights.
        callbacks: extra callbacks.
        verbose: Keras' verbosity.
        previous_best: see `StagedUnfreeze`.
        initial_epoch: the epoch to start at (when resuming).
        before_fit: called with the callback before training; returns more
            callbacks to run after it (e.g. the resume checkpoint).

    Returns:
        The `StagedUnfreeze` callback, with `stage_history` and `kept_stage`.
    """
    if val_ds is None and monitor.startswith("val_"):
        monitor = monitor[4:]
    staged = StagedUnfreeze(stages, blocks=blocks, monitor=monitor, freeze_batchnorm=freeze_batchnorm,
                            verbose=verbose, previous_best=previous_best)
    after = list(before_fit(staged)) if before_fit is not None else []
    model.fit(train_ds, validation_data=val_ds, epochs=staged.total_epochs,
              initial_epoch=initial_epoch, callbacks=[staged, *after, *callbacks], class_weight=class_weight,
              verbose=verbose)
    return staged
