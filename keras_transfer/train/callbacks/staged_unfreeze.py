"""`StagedUnfreeze`: a staged fine-tuning plan inside one `model.fit` call.

At each stage's first epoch the callback sets which blocks train (BatchNorm
stays frozen), and within them which parameters (`Stage.parameters`: all, or
LoRA adapters, biases or normalisation scales/offsets, `keras_transfer.peft`),
gives the model a fresh optimizer with the stage's learning rate and
schedule, and rebuilds the train function. LoRA is enabled on the blocks of
every LoRA stage when training begins (the adapters start at zero, so the
outputs do not change), so the weights the plan remembers keep one layout. Early stopping, best weights and
the best stage kept are the `StageMonitor`'s; a NaN or infinite loss is the
`DivergenceGuard`'s to notice.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from keras_transfer.log import Log
from keras_transfer.models.backbones import Block
from keras_transfer.models.classifier import batchnorm_layers, get_backbone_layer, model_blocks
from keras_transfer.peft.lora import enable_lora
from keras_transfer.peft.parameters import train_only, tuned_variables
from keras_transfer.train.callbacks.divergence_guard import Divergence, DivergenceGuard
from keras_transfer.train.callbacks.stage_monitor import StageMonitor
from keras_transfer.train.optimizers import layerwise_lr_multipliers, make_optimizer
from keras_transfer.train.stages import Stage, resolve_stages, select_blocks


class StagedUnfreeze(keras.callbacks.Callback):
    """Runs a staged fine-tuning plan inside one `model.fit` call.

    Works with any Keras model: blocks default to those of a `build_model`
    classifier's backbone, or are found from the model's layers. Layers outside
    the blocks (the head) always train.

    Args:
        stages: a list of `Stage` (or dicts), run in order.
        blocks: the ordered blocks (see `model_blocks`); default: found from the model.
        monitor: the metric each stage's early stopping watches.
        mode: `"min"`, `"max"` or `"auto"` (`keras_transfer.metric_direction`
            decides: the model's metric of that name first, then the name).
        restore_best_weights: restore each stage's best weights when it ends.
        freeze_batchnorm: keep every BatchNormalization layer of the backbone
            frozen (inference mode) in every stage. Turn off only for a
            backbone trained from scratch.
        verbose: 1 prints a line when a stage starts and ends.
        optimizer_factory: `(stage, steps per epoch, lr multipliers) -> optimizer`.
        previous_best: `(stage name, best monitored value)` of a stage run
            before this plan (on cached features): if no stage of the plan
            beats it, its weights (the model's at the start) are kept.
        classifier: the model whose layers the stages make trainable, when the
            fitted model is a training wrapper around it (domain adaptation's
            `AdaptedHead` over images); default: the fitted model itself. The
            wrapper's own layers (a domain head) are left as they are: they train.

    Attributes:
        stage_history: one dict per stage run: name, first epoch, epochs run,
            best epoch and value, whether it stopped early, the trainable
            blocks and the per-epoch metrics.
        total_epochs: the `epochs` to give `model.fit` (the sum of the stages').
        warnings: sentences about stages whose loss became NaN or infinite.
        kept_stage: the stage whose weights the model ends with: the last one,
            unless an earlier stage scored better on `monitor` (then its
            weights are restored when the plan ends).
        stage_monitor: the `StageMonitor` doing early stopping and best-stage bookkeeping.

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
        classifier: keras.Model | None = None,
    ):
        super().__init__()
        self.classifier = classifier
        self.stages = resolve_stages(list(stages), pretrained=True)
        self.blocks = list(blocks) if blocks is not None else None
        self.monitor = monitor
        self.restore_best_weights = restore_best_weights
        self.freeze_batchnorm = freeze_batchnorm
        self.verbose = verbose
        self.optimizer_factory = optimizer_factory
        self.previous_best = previous_best
        self.stage_history: list[dict] = []
        self.kept_stage: str | None = None
        self.warnings: list[str] = []
        self._log = Log(verbose)
        self.stage_monitor = StageMonitor(monitor, mode, restore_best_weights, log=self._log)
        self._guard = DivergenceGuard()
        self._index = 0
        self._start_pending = True
        self._resume: tuple | None = None
        self._stage_started = time.perf_counter()

    @property
    def total_epochs(self) -> int:
        """The sum of the stages' epochs: the `epochs` to give `model.fit`."""
        return sum(int(stage.epochs) for stage in self.stages)

    @property
    def trained_model(self) -> keras.Model:
        """The model whose backbone blocks and head the stages set trainable (`classifier`, else the fitted model)."""
        return self.classifier if self.classifier is not None else self.model

    @property
    def current_stage(self) -> Stage | None:
        """The running (or next) stage; None once the plan is done."""
        return self.stages[self._index] if self._index < len(self.stages) else None

    def set_model(self, model: keras.Model) -> None:
        super().set_model(model)
        self.stage_monitor.set_model(model)

    # --- Keras hooks -------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self.blocks is None:
            self.blocks = model_blocks(self.trained_model)
        self.enable_lora_adapters()
        if self.previous_best is not None and self.previous_best[1] is not None:
            self.stage_monitor.set_previous_best(*self.previous_best)
        self._start_pending = True
        if self._resume is not None:
            self._restore(*self._resume)
            self._resume = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._start_pending and self.current_stage is not None:
            self._start_stage(epoch)
            self._start_pending = False

    def on_epoch_end(self, epoch, logs=None):
        stage = self.current_stage
        if stage is None:
            return
        logs = dict(logs or {})
        record = self.stage_history[-1]
        for key, value in logs.items():
            record["metrics"].setdefault(key, []).append(float(value))
        record["epochs_run"] = self.stage_monitor.count_epoch()
        value = self.stage_monitor.read(logs)
        divergence = self._guard.epoch_divergence(epoch, value)
        if divergence is not None:
            self._end_diverged_stage(divergence, record)
            return
        verdict = self.stage_monitor.judge_epoch(epoch, value, stage)
        if verdict.cut_learning_rate:
            self._cut_learning_rate(0.2)
        if verdict.stage_over:
            self._end_stage(epoch, stopped_early=verdict.stopped_early)

    def on_train_batch_end(self, batch, logs=None):
        if self._guard.batch_diverged(batch, logs):
            self.model.stop_training = True  # ends this epoch; on_epoch_end decides what comes next

    # --- resuming ------------------------------------------------------------

    def get_state(self) -> dict:
        """The plan's progress as JSON-able data (weights are saved separately).

        Returns:
            `{index, epochs_run, best_epoch, wait, best, start_pending, stage_history,
            warnings, overall_name, overall_best}` (what `resume` reads back).

        Example:
            >>> json.dumps(plan.get_state())
        """
        return {"index": self._index, **self.stage_monitor.stage_state(), "start_pending": self._start_pending,
                "stage_history": self.stage_history, "warnings": self.warnings,
                **self.stage_monitor.best_stage_state()}

    def weights_to_keep(self) -> dict[str, list | None]:
        """The weights the plan may restore later: the current stage's best and the best stage's.

        Returns:
            `{"stage_best": weights or None, "overall_best": weights or None}`.

        Example:
            >>> plan.weights_to_keep().keys()
            dict_keys(['stage_best', 'overall_best'])
        """
        return self.stage_monitor.weights_to_keep()

    def resume(self, state: Mapping, stage_best: list | None, overall_best: list | None) -> None:
        """Continues from `get_state()` data and the saved weights when training begins.

        The model must already hold the saved weights and optimizer state: the
        current stage goes on with that optimizer instead of a fresh one.

        Args:
            state: what `get_state()` returned.
            stage_best: `weights_to_keep()["stage_best"]` as saved.
            overall_best: `weights_to_keep()["overall_best"]` as saved.

        Example:
            >>> plan.resume(saved["plan"], **load_kept_weights(folder))
        """
        self._resume = (dict(state), stage_best, overall_best)

    def _restore(self, state: dict, stage_best, overall_best) -> None:
        self._index = state["index"]
        self.stage_monitor.load_state(state, stage_best, overall_best)
        self.stage_history = list(state["stage_history"])
        self.warnings = list(state["warnings"])
        self._start_pending = state["start_pending"]
        if not self._start_pending and self.current_stage is not None:
            self.set_trainable(self.current_stage)
            self.stage_monitor.remember_start_weights()
            self.model.make_train_function(force=True)

    # --- stages ------------------------------------------------------------

    def enable_lora_adapters(self) -> None:
        """Enables LoRA on the blocks of every LoRA stage of the plan (Keras' `enable_lora`; outputs unchanged).

        Example:
            >>> plan.enable_lora_adapters()  # before the weights are remembered
        """
        if self.blocks is None:
            self.blocks = model_blocks(self.trained_model)
        for stage in self.stages:
            if stage.parameters == "lora" and stage.trains_backbone:
                layers = [layer for block in select_blocks(self.blocks, stage.train_blocks) for layer in block.layers]
                enable_lora(layers, stage.lora_rank, stage.lora_alpha)

    def _start_stage(self, epoch: int):
        stage = self.current_stage
        self.stage_monitor.begin_stage()
        trained = self.set_trainable(stage)
        optimizer = self._stage_optimizer(stage, trained)
        self.model.optimizer = optimizer
        _record_optimizer_for_saving(self.model, optimizer)
        self.model.make_train_function(force=True)
        self.stage_history.append({
            "name": stage.name,
            "stage": stage.to_dict(),
            "first_epoch": epoch,
            "epochs_run": 0,
            "trainable_blocks": [block.name for block in trained],
            "parameters": stage.parameters,
            "trainable_params": int(sum(np.prod(v.shape) for v in self.model.trainable_variables)),
            "metrics": {},
        })
        self._stage_started = time.perf_counter()
        self._log.info(f"\nStage {self._index + 1}/{len(self.stages)} '{stage.name}': "
                       f"training {len(trained)}/{len(self.blocks)} backbone blocks + head, "
                       f"lr {stage.learning_rate:g} ({stage.schedule}), up to {stage.epochs} epochs")

    def _stage_optimizer(self, stage: Stage, trained: list[Block]) -> keras.optimizers.Optimizer:
        """A fresh optimizer for the stage, built on the trainable variables (in the model's strategy)."""
        steps = (self.params or {}).get("steps")
        multipliers = self._lr_multipliers(stage, trained)
        strategy = getattr(self.model, "distribute_strategy", None)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            optimizer = self.optimizer_factory(stage, steps, multipliers)
            if getattr(self.model, "dtype_policy", None) is not None and \
                    self.model.dtype_policy.name == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(self.model.trainable_variables)
        return optimizer

    def _end_diverged_stage(self, divergence: Divergence, record: dict):
        """NaN/inf loss: restore the stage's best (or starting) weights, end the stage, go on with the plan."""
        self.stage_monitor.restore_after_divergence()
        message = divergence.warning(record["name"])
        record["diverged"] = divergence.record()
        self.warnings.append(message)
        self._log.info(f"\n{message}")
        self._end_stage(divergence.epoch, stopped_early=True)
        if self.current_stage is not None:
            self.model.stop_training = False

    def _end_stage(self, epoch: int, stopped_early: bool):
        record = self.stage_history[-1]
        epochs_run = self.stage_monitor.progress.epochs_run
        record.update(**self.stage_monitor.end_stage(epoch, record["name"]), stopped_early=stopped_early,
                      wall_seconds=time.perf_counter() - self._stage_started)
        best = record["best_value"]
        self._log.info(f"Stage '{record['name']}' ended after {epochs_run} epochs"
                       f"{' (early stop)' if stopped_early else ''}; best {self.monitor} "
                       f"{best if best is None else f'{best:.4f}'} at epoch {record['best_epoch'] + 1}")
        self._index += 1
        self._start_pending = True
        if self.current_stage is None:
            self.model.stop_training = True
            self.kept_stage = self.stage_monitor.keep_best_stage(record["name"])

    def set_trainable(self, stage: Stage) -> list[Block]:
        """Makes exactly `stage`'s blocks (and the head) trainable; BatchNorm stays frozen if asked.

        With `stage.parameters` other than `"all"`, only that parameter set of
        the blocks trains (`keras_transfer.peft.tuned_variables`): LoRA
        adapters (enabled here if they are not yet), bias vectors, or
        normalisation scales and offsets, BatchNorm layers staying in
        inference mode with frozen statistics.

        Args:
            stage: the stage whose `train_blocks` and `parameters` decide.

        Returns:
            The blocks that train.

        Example:
            >>> [block.name for block in plan.set_trainable(Stage("top", train_blocks=1))]
            ['top']
        """
        trained = select_blocks(self.blocks, stage.train_blocks)
        in_blocks = {id(layer) for block in self.blocks for layer in block.layers}
        trained_ids = {id(layer) for block in trained for layer in block.layers}
        model = self.trained_model
        backbone = get_backbone_layer(model)
        if backbone is not None:
            backbone.trainable = bool(trained)
        for layer in model.layers:
            if layer is not backbone and id(layer) not in in_blocks:
                layer.trainable = True  # the head
        for block in self.blocks:
            for layer in block.layers:
                layer.trainable = id(layer) in trained_ids
        if self.freeze_batchnorm:
            for layer in batchnorm_layers(backbone or model):
                if backbone is not None or id(layer) in in_blocks:
                    layer.trainable = False
        if stage.parameters != "all" and trained:
            layers = [layer for block in trained for layer in block.layers]
            if stage.parameters == "lora":
                enable_lora(layers, stage.lora_rank, stage.lora_alpha)
            where = f"the blocks {[block.name for block in trained]} of stage {stage.name!r}"
            train_only(layers, tuned_variables(layers, stage.parameters, where), self.freeze_batchnorm)
        return trained

    def _lr_multipliers(self, stage: Stage, trained: list[Block]) -> dict[str, float]:
        return layerwise_lr_multipliers(trained, stage.layerwise_lr_decay)

    def _cut_learning_rate(self, factor: float):
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        optimizer.learning_rate = float(optimizer.learning_rate) * factor


def _record_optimizer_for_saving(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> None:
    """Makes a saved model (checkpoint, resume) record the stage's optimizer, not the one given to `compile()`.

    `model.save` writes `model.get_compile_config()`, which serialises the
    private `model._compile_config` that `compile()` filled. Keras has no public
    setter for it, and calling `compile()` again in the middle of `fit` would
    rebuild the compiled metrics and reset the trainer's state. So this edits
    that one private entry, here and nowhere else.
    """
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        compile_config.config["optimizer"] = optimizer
