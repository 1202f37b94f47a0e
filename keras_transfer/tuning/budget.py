"""A hard wall-clock budget for a search, and the best config so far kept on disk after every trial.

The budget is checked by the oracle before it creates each trial (`stop_when_spent`),
so a search ends at most one trial's duration after it: a trial is never cut short
(its result would not be comparable). In KerasTuner's distributed mode the chief's
oracle checks it, so every worker stops. The clock is injectable (any
zero-argument callable returning seconds), so the stopping rule is tested without
waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keras_transfer.serialization import write_json

BEST_CONFIG = "best_config.json"
BEST_TRIAL = "best_trial.json"


class Budget:
    """Seconds a search may spend, read from `clock`.

    Args:
        seconds: the budget; None for none (the search then stops at `max_trials` or when the tuner is done).
        clock: returns the current time in seconds (default `time.monotonic`).

    Example:
        >>> budget = Budget(600).start()
        >>> budget.spent()
        False
    """

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic):
        if seconds is not None and seconds <= 0:
            raise ValueError(f"budget_s must be a positive number of seconds (or None for no budget), got {seconds}.")
        self.seconds = seconds
        self.clock = clock
        self.started: float | None = None
        self.stopped_search = False

    def start(self) -> Budget:
        """Starts counting (again: a resumed search gets the whole budget for its own run)."""
        self.started = self.clock()
        return self

    def elapsed(self) -> float:
        """Seconds since `start`."""
        if self.started is None:
            raise RuntimeError("Budget.start() was not called.")
        return self.clock() - self.started

    def spent(self) -> bool:
        """Whether no new trial may start."""
        return self.seconds is not None and self.elapsed() >= self.seconds


def stop_when_spent(oracle, budget: Budget) -> None:
    """Makes a KerasTuner oracle answer STOPPED (no new trial) once `budget` is spent.

    The oracle's own `populate_space` is wrapped on the instance, so Hyperband, Bayesian and random search
    all keep their logic; a trial already running, or one waiting for a retry, still finishes.

    Args:
        oracle: a `keras_tuner.Oracle`.
        budget: the search's budget (started before the search).
    """
    populate_space = oracle.populate_space

    def populate_within_budget(trial_id):
        if budget.spent():
            budget.stopped_search = True
            return {"status": "STOPPED", "values": None}
        return populate_space(trial_id)

    oracle.populate_space = populate_within_budget


def save_best(directory: str | os.PathLike, config: dict[str, Any], record: dict[str, Any]) -> Path:
    """Writes the best trial's config and record, each atomically: a killed search keeps them.

    Args:
        directory: the search's project folder.
        config: the trial's resolved config (`FitResult.config`): `best_config.json`, rerunnable with
            `build_and_fit_from_config`.
        record: the trial's id, score and values: `best_trial.json`.

    Returns:
        The path of `best_config.json`.
    """
    write_json(Path(directory) / BEST_TRIAL, record)
    return write_json(Path(directory) / BEST_CONFIG, config)
