"""Noticing a diverged stage: a NaN or infinite training loss (in a batch) or monitored value (at epoch end)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Divergence:
    """Where a stage's training diverged.

    Args:
        epoch: the epoch (0-based).
        step: the batch (0-based) whose loss was first NaN or infinite; None
            when only the epoch's monitored value was.

    Example:
        >>> Divergence(epoch=1, step=2).warning("head")
        "Stage 'head': the loss became NaN or infinite at epoch 2, step 3; ..."
    """

    epoch: int
    step: int | None

    def record(self) -> dict:
        """`{"epoch", "step"}`, as the stage's history record keeps it under `"diverged"`.

        Returns:
            The dict.

        Example:
            >>> Divergence(1, 2).record()
            {'epoch': 1, 'step': 2}
        """
        return {"epoch": self.epoch, "step": self.step}

    def warning(self, stage_name: str) -> str:
        """The sentence the plan's `warnings` get: where it happened and what to do.

        Args:
            stage_name: the diverged stage.

        Returns:
            The sentence.

        Example:
            >>> Divergence(0, None).warning("all")
            "Stage 'all': the loss became NaN or infinite at epoch 1; ..."
        """
        where = f"epoch {self.epoch + 1}" + (f", step {self.step + 1}" if self.step is not None else "")
        return (f"Stage '{stage_name}': the loss became NaN or infinite at {where}; restored the stage's "
                "best weights and ended the stage. Lower the stage's learning_rate (or check the data for "
                "NaN pixels or labels).")


class DivergenceGuard:
    """Watches every batch's loss and the epoch's monitored value for NaN or infinity.

    The callback asks `batch_diverged` after each batch (True the first time:
    it then stops the epoch) and `epoch_divergence` at the epoch's end (which
    also clears the guard for the next epoch).

    Example:
        >>> guard = DivergenceGuard()
        >>> guard.batch_diverged(0, {"loss": 0.7}), guard.batch_diverged(1, {"loss": float("nan")})
        (False, True)
        >>> guard.epoch_divergence(epoch=0, monitored=0.5)
        Divergence(epoch=0, step=1)
    """

    def __init__(self):
        self._step: int | None = None

    def batch_diverged(self, batch: int, logs: Mapping | None) -> bool:
        """Whether this batch's loss is the first NaN or infinite one of the epoch.

        Args:
            batch: the batch index within the epoch.
            logs: the batch's logs (their `"loss"` is read).

        Returns:
            True once, for the first diverged batch (stop the epoch then).
        """
        loss = (logs or {}).get("loss")
        if loss is None or self._step is not None or math.isfinite(float(loss)):
            return False
        self._step = batch
        return True

    def epoch_divergence(self, epoch: int, monitored: float | None) -> Divergence | None:
        """The epoch's divergence, if a batch diverged or the monitored value is NaN or infinite.

        Args:
            epoch: the epoch that ended.
            monitored: the epoch's monitored value (None: not in the logs).

        Returns:
            A `Divergence` (and the guard is cleared), or None.
        """
        value_diverged = monitored is not None and not math.isfinite(monitored)
        if self._step is None and not value_diverged:
            return None
        step, self._step = self._step, None
        return Divergence(epoch=epoch, step=step)
