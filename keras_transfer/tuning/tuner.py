"""The KerasTuner side: a hyper-model whose `build(hp)` is a `FitConfig`, and a tuner whose trial runs the recipe.

`RecipeTuner` is a `keras_tuner` `BaseTuner`: the oracle (Hyperband, Bayesian
or random) chooses the values, the project folder records every trial (a
killed search reloads it and repeats no finished trial), and KerasTuner's
distributed mode works unchanged (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP`,
`KERASTUNER_ORACLE_PORT`). What it adds: the first trial is the default recipe
(the space's defaults, see `keras_transfer.tuning.space`); each trial is `fit_config(config)`
with one feature cache shared by all trials; Hyperband's `tuner/epochs` is the
trial's most epochs per stage (a promoted trial is trained again with the larger
budget, its head stage reading the cached features); the oracle checks the
budget before each trial; the best config so far is written after every trial.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import time
from pathlib import Path
from typing import Any

import keras

from keras_transfer.models.backbones import BackboneSpec, custom_backbone
from keras_transfer.optional import require
from keras_transfer.recipes.build_and_fit import fit_config
from keras_transfer.serialization import write_json
from keras_transfer.tuning.budget import Budget, save_best, stop_when_spent
from keras_transfer.tuning.features import SharedFeatures
from keras_transfer.tuning.space import SearchSpace

kt = require("keras_tuner", "keras_transfer.search")

TUNERS = ("hyperband", "bayesian", "random")
TRIAL_RECORD = "recipe_trial.json"
# Hyperband's own values in a trial's hyper-parameters (not the recipe's).
HYPERBAND_KEYS = ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket", "tuner/round", "tuner/trial_id")


class RecipeHyperModel(kt.HyperModel):
    """`build(hp)` returns the trial's `FitConfig` (the search space mapped onto the fixed options).

    A custom backbone (a `keras.Model` or `custom_backbone(model)`) is trained in place by a run, so each
    trial's config gets a fresh copy holding the weights the search started from.

    Args:
        space: the `SearchSpace`.
        fixed: the `build_and_fit` options held constant (data included).
    """

    def __init__(self, space: SearchSpace, fixed: dict[str, Any]):
        super().__init__(name="transfer_recipe")
        self.space = space
        self.fixed = fixed
        self.custom = custom_backbone_snapshot(fixed.get("backbone"))

    def build(self, hp):
        return self.space.fit_config(hp, self.fixed, epochs=hp.values.get("tuner/epochs"))

    def trial_config(self, hp):
        """The config a trial runs: `build(hp)`, with a fresh copy of a custom backbone."""
        config = self.build(hp)
        if self.custom is not None:
            spec, weights = self.custom
            copy = keras.models.clone_model(spec.user_model)
            copy.set_weights(weights)
            config = config.replace(backbone=dataclasses.replace(spec, user_model=copy))
        return config


def custom_backbone_snapshot(backbone: Any):
    """`(BackboneSpec, its model's weights now)` for a custom backbone, else None."""
    if isinstance(backbone, keras.Model):
        backbone = custom_backbone(backbone)
    if isinstance(backbone, BackboneSpec) and backbone.user_model is not None:
        return backbone, backbone.user_model.get_weights()
    return None


class DefaultsFirst:
    """Oracle mixin: the first point drawn is the space's default values (the default recipe), then random ones.

    KerasTuner's random, Bayesian (its initial points) and Hyperband (each new bracket's points) oracles all
    draw through `_random_values`; the defaults are drawn once (a resumed search that ran them does not again).
    """

    def _random_values(self):
        defaults = self.hyperparameters.copy()
        defaults.ensure_active_values()
        values = defaults.values
        if values and not self._duplicate(values):
            return values
        return super()._random_values()


def make_oracle(tuner: str, objective: str, max_trials: int | None, max_epochs: int, seed: int):
    """The KerasTuner oracle for `tuner="hyperband" | "bayesian" | "random"`, drawing the defaults first.

    Args:
        tuner: which search.
        objective: the validation metric to maximise (`"val_accuracy"`) or minimise (`"val_loss"`).
        max_trials: the most trials (Hyperband: a cap on its own schedule), None for Hyperband's schedule.
        max_epochs: Hyperband's largest epochs per stage.
        seed: seeds the oracle's draws.

    Returns:
        A `keras_tuner.Oracle` whose first trial is the space's defaults (`DefaultsFirst`).
    """
    direction = "min" if objective.endswith("loss") else "max"
    goal = kt.Objective(objective, direction)
    if tuner == "hyperband":
        oracle = defaults_first(kt.oracles.HyperbandOracle)(objective=goal, max_epochs=max_epochs, factor=3,
                                                            seed=seed)
        oracle.max_trials = max_trials  # the base oracle's create_trial stops at it
        return oracle
    if max_trials is None:
        raise ValueError(f"tuner={tuner!r} needs max_trials= (Hyperband alone has its own schedule).")
    if tuner == "bayesian":
        return defaults_first(kt.oracles.BayesianOptimizationOracle)(
            objective=goal, max_trials=max_trials, seed=seed, num_initial_points=min(3, max_trials))
    if tuner == "random":
        return defaults_first(kt.oracles.RandomSearchOracle)(objective=goal, max_trials=max_trials, seed=seed)
    raise ValueError(f"tuner must be one of {TUNERS}, got {tuner!r}.")


def defaults_first(oracle_class: type) -> type:
    """`oracle_class` with `DefaultsFirst` mixed in (same name, so KerasTuner's saved state reads the same)."""
    return type(oracle_class.__name__, (DefaultsFirst, oracle_class), {})


class RecipeTuner(kt.engine.base_tuner.BaseTuner):
    """Runs each trial's `FitConfig` through the recipe, sharing features, within a budget.

    Args:
        oracle: from `make_oracle`.
        hypermodel: a `RecipeHyperModel`.
        budget: the search's `Budget` (checked before each trial).
        feature_store: the `SharedFeatures` every trial reads.
        objective: the validation metric reported (`"val_" + a metric of FitResult.metrics`).
        directory, project_name, overwrite: KerasTuner's project folder (reloaded when it exists).
        verbose: the recipe's verbosity inside trials.
    """

    def __init__(self, oracle, hypermodel: RecipeHyperModel, *, budget: Budget, feature_store: SharedFeatures,
                 objective: str, directory: str, project_name: str, overwrite: bool = False, verbose: int = 0):
        self.budget = budget
        self.feature_store = feature_store
        self.objective = objective
        self.verbose = verbose
        self.trials_run: list[str] = []
        super().__init__(oracle, hypermodel, directory=directory, project_name=project_name, overwrite=overwrite)
        stop_when_spent(oracle, budget)  # the oracle (the chief's, when distributed) checks the budget

    def run_trial(self, trial, *args, **kwargs) -> dict[str, float]:
        """One trial: its `FitConfig` through `fit_config`, features shared; returns the validation metrics."""
        hp = trial.hyperparameters
        config = self.hypermodel.trial_config(hp).replace(verbose=self.verbose)
        extracted_before = self.feature_store.total_extractions
        started, started_clock = time.perf_counter(), self.budget.elapsed()
        self.trials_run.append(trial.trial_id)
        try:
            result = fit_config(config, feature_store=self.feature_store)
        except (ValueError, TypeError) as error:  # this point of the space cannot run: fail it, keep searching
            raise kt.errors.FailedTrialError(f"{type(error).__name__}: {error}") from error
        metrics = {f"val_{name}": float(value) for name, value in result.metrics.items()}
        if self.objective not in metrics:
            raise kt.errors.FatalError(f"The objective {self.objective!r} is not among the validation metrics "
                                       f"{sorted(metrics)}: choose one of them (validation data is needed).")
        record = {
            "trial_id": trial.trial_id,
            "values": {name: value for name, value in hp.values.items() if name not in HYPERBAND_KEYS},
            "epochs": hp.values.get("tuner/epochs", config.training.epochs),
            "continues": hp.values.get("tuner/trial_id"),
            "metrics": metrics,
            "seconds": time.perf_counter() - started,
            "started_s": started_clock,
            "extracted_features": self.feature_store.total_extractions > extracted_before,
            "kept": result.kept,
            "config": result.config,
        }
        write_json(Path(self.get_trial_dir(trial.trial_id)) / TRIAL_RECORD, record)
        return metrics

    def on_trial_end(self, trial):
        """KerasTuner's bookkeeping, then the best config so far written to the project folder."""
        super().on_trial_end(trial)
        best = self.oracle.get_best_trials(1)
        if best and best[0].trial_id == trial.trial_id:
            record = read_trial_record(self.project_dir, trial.trial_id)
            if record is not None:
                save_best(self.project_dir, record["config"],
                          {key: record[key] for key in ("trial_id", "values", "epochs", "metrics")}
                          | {"objective": self.objective, "score": record["metrics"][self.objective]})

    def run(self, verbose: int = 0) -> str:
        """Runs the search until the oracle stops, `max_trials` is reached or the budget is spent.

        Returns:
            Why it stopped: "done" or "budget".
        """
        self.budget.start()
        self.search(verbose=verbose)
        return "budget" if self.budget.stopped_search else "done"


def read_trial_record(project_dir: str | os.PathLike, trial_id: str) -> dict | None:
    """The recipe's record of one finished trial (None when it did not finish)."""
    path = Path(project_dir) / f"trial_{trial_id}" / TRIAL_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def trial_files(project_dir: str | os.PathLike) -> list[tuple[dict, dict | None]]:
    """`(KerasTuner's trial.json, the recipe's record or None)` for every trial of a project, by trial id."""
    pairs = []
    for name in sorted(glob.glob(os.path.join(str(project_dir), "trial_*", "trial.json"))):
        state = json.loads(Path(name).read_text())
        pairs.append((state, read_trial_record(project_dir, state["trial_id"])))
    return pairs
