"""Per-stage early stopping and the "best stage kept" rule, for `StagedUnfreeze`.

Within a stage: the best epoch and its weights, epochs without improvement
(early stopping, plateau cuts), and the weights to restore when the stage ends.
Across stages: the best stage so far; after the last one its weights are kept
when it beat the later stages (ties go to the later stage). Whether a value is
better is `keras_transfer.metric_direction`'s rule, asking the model's metrics first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import keras

from keras_transfer.log import Log
from keras_transfer.metric_direction import higher_is_better, is_improvement, metric_name
from keras_transfer.train.stages import Stage

MODES = ("min", "max", "auto")


@dataclass
class StageProgress:
    """Where the running stage stands on the monitored metric.

    Args:
        epochs_run: epochs of the stage so far.
        best: the best monitored value (None before one was seen).
        best_epoch: the epoch of `best` (-1 before the stage's first epoch ended).
        wait: epochs since the last improvement.
        best_weights: the model's weights at `best_epoch` (when restoring them).

    Example:
        >>> StageProgress().best_epoch
        -1
    """

    epochs_run: int = 0
    best: float | None = None
    best_epoch: int = -1
    wait: int = 0
    best_weights: list | None = field(default=None, repr=False)


@dataclass
class BestStage:
    """The best stage so far: its name, best monitored value and end-of-stage weights.

    Example:
        >>> BestStage("head", 0.4).name
        'head'
    """

    name: str = ""
    value: float | None = None
    weights: list | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EpochVerdict:
    """What an epoch's monitored value means for the stage.

    Args:
        improved: the epoch is the stage's best so far.
        cut_learning_rate: a plateau schedule's patience ran out: cut the rate.
        stage_over: the stage ran its epochs or its patience out.
        stopped_early: it ended on patience, before its last epoch.

    Example:
        >>> EpochVerdict(True, False, False, False).improved
        True
    """

    improved: bool
    cut_learning_rate: bool
    stage_over: bool
    stopped_early: bool


class _DeclaredDirection:
    """A stand-in metric carrying a direction the user declared (`mode="min"|"max"`).

    `metric_direction` asks metric objects first, so passing this one makes the
    declared mode win over the metric's name and the model's metrics.
    """

    def __init__(self, name: str, direction: str):
        self.name = name
        self._direction = direction


class StageMonitor:
    """Tracks the monitored metric through the stages of a plan.

    Args:
        monitor: the log key watched (`"val_loss"`, `"val_accuracy"`, `"val_f1"`, ...).
        mode: `"min"`, `"max"` or `"auto"` (`keras_transfer.metric_direction`
            decides: the model's metric of that name first, then the name).
        restore_best_weights: keep each stage's best weights and restore them
            when it ends (and keep the best stage's weights across stages).
        log: where messages go.

    Attributes:
        progress: the running stage's `StageProgress`.
        best_stage: the best stage so far (`BestStage`).

    Example:
        >>> monitor = StageMonitor("val_f1")
        >>> monitor.set_model(model)
        >>> monitor.begin_stage()
        >>> monitor.count_epoch(); verdict = monitor.judge_epoch(0, 0.7, stage)
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", restore_best_weights: bool = True,
                 log: Log | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}.")
        self.monitor = monitor
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.log = log if log is not None else Log(verbose=0)
        self.model: keras.Model | None = None
        self.progress = StageProgress()
        self.best_stage = BestStage()
        self.start_weights: list | None = None
        self._warned_missing = False

    def set_model(self, model: keras.Model) -> None:
        """The model whose metrics decide the direction and whose weights are kept and restored."""
        self.model = model

    # --- the improvement rule ------------------------------------------------

    @property
    def higher_is_better(self) -> bool:
        """Whether a higher monitored value is better (the declared mode, else `metric_direction`)."""
        return higher_is_better(self.monitor, self._direction_metrics())

    def improves(self, value: float | None, best: float | None) -> bool:
        """Whether `value` beats `best` (None: nothing yet; NaN and None never improve).

        Args:
            value: the new value.
            best: the best so far, or None.

        Returns:
            True when `value` is better.

        Example:
            >>> StageMonitor("val_f1").improves(0.8, 0.7)
            True
        """
        return is_improvement(value, best, self.monitor, metrics=self._direction_metrics())

    def _direction_metrics(self) -> Sequence:
        if self.mode != "auto":
            return (_DeclaredDirection(metric_name(self.monitor), "up" if self.mode == "max" else "down"),)
        return self.model.metrics if self.model is not None else ()

    def _at_least_as_good(self, value: float, reference: float | None) -> bool:
        return self.improves(value, reference) or value == reference

    # --- one stage -----------------------------------------------------------

    def read(self, logs: Mapping) -> float | None:
        """The monitored value in an epoch's logs; None (and a note, once) when it is not there.

        Args:
            logs: the epoch's logs.

        Returns:
            The value as a float, or None.

        Example:
            >>> StageMonitor("val_loss").read({"val_loss": 0.5})
            0.5
        """
        if self.monitor in logs:
            return float(logs[self.monitor])
        if not self._warned_missing:
            self._warned_missing = True
            self.log.note(f"StagedUnfreeze: '{self.monitor}' is not in the logs ({sorted(logs)}); "
                          "early stopping is off. Pass validation data to monitor a val_ metric.")
        return None

    def begin_stage(self) -> None:
        """A new stage: progress starts over, and the model's weights are its starting weights."""
        self.progress = StageProgress()
        self.remember_start_weights()

    def remember_start_weights(self) -> None:
        """Keeps the model's current weights as the stage's starting weights (restored if it diverges at once)."""
        self.start_weights = self.model.get_weights()

    def count_epoch(self) -> int:
        """Counts one more epoch of the stage; returns the stage's epochs so far."""
        self.progress.epochs_run += 1
        return self.progress.epochs_run

    def judge_epoch(self, epoch: int, value: float | None, stage: Stage) -> EpochVerdict:
        """Books an epoch's monitored value: best epoch, patience, plateau.

        Args:
            epoch: the epoch (counted already with `count_epoch`).
            value: its monitored value (None: not in the logs; the stage's first
                epoch is then its best and early stopping waits on nothing).
            stage: the running stage (its epochs, patience, schedule).

        Returns:
            An `EpochVerdict`.
        """
        progress = self.progress
        improved = progress.best_epoch < 0 or self.improves(value, progress.best)
        cut_learning_rate = False
        if improved:
            progress.best, progress.best_epoch, progress.wait = value, epoch, 0
            if self.restore_best_weights:
                progress.best_weights = self.model.get_weights()
        else:
            progress.wait += 1
            cut_learning_rate = stage.schedule == "plateau" and progress.wait % stage.plateau_patience == 0
        out_of_patience = stage.patience is not None and progress.wait >= stage.patience
        return EpochVerdict(
            improved=improved,
            cut_learning_rate=cut_learning_rate,
            stage_over=progress.epochs_run >= stage.epochs or out_of_patience,
            stopped_early=out_of_patience and progress.epochs_run < stage.epochs,
        )

    def restore_after_divergence(self) -> None:
        """Puts back the stage's best weights (its starting ones if none); they are then spent."""
        progress = self.progress
        self.model.set_weights(progress.best_weights if progress.best_weights is not None else self.start_weights)
        progress.best_weights = None

    def end_stage(self, epoch: int, name: str) -> dict:
        """Ends the stage: restores its best weights, books it against the best stage, starts progress over.

        Args:
            epoch: the stage's last epoch.
            name: the stage's name.

        Returns:
            `{"best_epoch", "best_value"}` for the stage's history record.
        """
        progress = self.progress
        if self.restore_best_weights and progress.best_weights is not None and progress.best_epoch != epoch:
            self.model.set_weights(progress.best_weights)
        if progress.best is not None and self._at_least_as_good(progress.best, self.best_stage.value):
            weights = self.model.get_weights() if self.restore_best_weights else None
            self.best_stage = BestStage(name, progress.best, weights)
        self.progress = StageProgress()
        return {"best_epoch": progress.best_epoch, "best_value": progress.best}

    # --- across stages -------------------------------------------------------

    def set_previous_best(self, name: str, value: float) -> None:
        """A stage run before the plan (the model holds its weights now) is the best stage so far."""
        self.best_stage = BestStage(name, value, self.model.get_weights())

    def keep_best_stage(self, last_stage: str) -> str | None:
        """After the last stage: restores the best stage's weights when it is not the last one.

        Args:
            last_stage: the name of the stage the plan ended with.

        Returns:
            The name of the stage whose weights the model keeps (None: no stage had a value).
        """
        best = self.best_stage
        if best.name and best.name != last_stage and best.weights is not None:
            self.model.set_weights(best.weights)
            self.log.info(f"Kept the weights of stage '{best.name}': later stages did not improve {self.monitor}.")
        return best.name or None

    def weights_to_keep(self) -> dict[str, list | None]:
        """The weights a resumed run needs: `{"stage_best", "overall_best"}` (None where there are none)."""
        return {"stage_best": self.progress.best_weights, "overall_best": self.best_stage.weights}

    # --- resuming --------------------------------------------------------------
    # Saved values are "lower is better" (negated for a maximised metric), as resume folders hold them.

    def stage_state(self) -> dict:
        """The running stage's progress as JSON-able data: `epochs_run`, `best_epoch`, `wait`, `best`."""
        progress = self.progress
        return {"epochs_run": progress.epochs_run, "best_epoch": progress.best_epoch, "wait": progress.wait,
                "best": self._to_saved(progress.best)}

    def best_stage_state(self) -> dict:
        """The best stage as JSON-able data: `overall_name`, `overall_best`."""
        return {"overall_name": self.best_stage.name, "overall_best": self._to_saved(self.best_stage.value)}

    def load_state(self, state: Mapping, stage_best: list | None, overall_best: list | None) -> None:
        """Continues from `stage_state()` and `best_stage_state()` data and the saved weights.

        Args:
            state: a dict holding both states' keys.
            stage_best: the running stage's best weights, or None.
            overall_best: the best stage's weights, or None.
        """
        self.progress = StageProgress(epochs_run=state["epochs_run"], best=self._from_saved(state["best"]),
                                      best_epoch=state["best_epoch"], wait=state["wait"], best_weights=stage_best)
        self.best_stage = BestStage(state["overall_name"], self._from_saved(state["overall_best"]), overall_best)

    def _to_saved(self, value: float | None) -> float | None:
        if value is None or not math.isfinite(value):
            return None
        return -value if self.higher_is_better else value

    def _from_saved(self, saved: float | None) -> float | None:
        if saved is None:
            return None
        return -saved if self.higher_is_better else saved
