"""`search()`: hyper-parameter search over the transfer recipe, on KerasTuner, within a wall-clock budget.

    space    = SearchSpace(space, fixed)              tuning/space.py     what varies; a trial is a FitConfig
    oracle   = make_oracle(tuner, ...)                tuning/tuner.py     Hyperband | Bayesian | random
    tuner    = RecipeTuner(oracle, ..., directory)    tuning/tuner.py     reloads a killed search's project
    tuner.run()                                       each trial: fit_config(config, feature_store=shared)
                                                      budget checked before each trial; best_config.json
                                                      written after each
    return SearchResult(best_config, table, ...)      tuning/results.py   the table and the plot
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keras_transfer.log import Log
from keras_transfer.recipes.build_and_fit import build_and_fit_from_config, load_run_data
from keras_transfer.recipes.config import FitConfig
from keras_transfer.recipes.result import FitResult
from keras_transfer.tuning.budget import BEST_CONFIG, BEST_TRIAL, Budget
from keras_transfer.tuning.features import SharedFeatures
from keras_transfer.tuning.space import SearchSpace, ranked_candidates

# Options a search sets itself: each trial is a fresh run inside the project folder.
NOT_FIXED = {"output_dir": "the search writes into directory=; refit the winner with output_dir=",
             "resume": "a killed search resumes from directory= by itself (overwrite=False)"}


@dataclass
class SearchResult:
    """What `search` returns.

    Attributes:
        best_config: the best trial's resolved `FitConfig` (None when no trial finished).
        best_config_path: its `best_config.json` (rerun with `build_and_fit_from_config(path, data=...)`).
        best_score: the best trial's objective value.
        best_trial: its record (`trial_id`, `values`, `epochs`, `metrics`).
        objective: the validation metric searched (`"val_accuracy"`).
        table: a pandas DataFrame, a row per trial, best first (`results_table`).
        stopped: why the search ended: `"done"` (the tuner's schedule or `max_trials`) or `"budget"`.
        trials_run: the trial ids this process ran (a resumed search does not repeat finished ones).
        extractions: feature extractions by `backbone@size` in this process (trials sharing one read it once).
        feature_reuses: trials that read features another trial extracted.
        seconds: wall seconds of this process's search.
        project_dir: KerasTuner's project folder.
    """

    best_config: FitConfig | None
    best_config_path: Path | None
    best_score: float | None
    best_trial: dict | None
    objective: str
    table: Any
    stopped: str
    trials_run: list[str] = field(default_factory=list)
    extractions: dict[str, int] = field(default_factory=dict)
    feature_reuses: int = 0
    seconds: float = 0.0
    project_dir: Path | None = None
    reload_options: dict[str, Any] = field(default_factory=dict, repr=False)

    def refit(self, **overrides) -> FitResult:
        """The winner trained again from scratch with `build_and_fit_from_config` (data not stored is passed).

        Args:
            **overrides: options that replace the config's (e.g. `output_dir=`, `seed=`).

        Returns:
            The new `FitResult`.
        """
        if self.best_config_path is None:
            raise ValueError("No trial finished, so there is no best config to refit: give the search more budget.")
        return build_and_fit_from_config(self.best_config_path, **{**self.reload_options, **overrides})

    def plot(self, path: str | os.PathLike | None = None, reference: float | None = None):
        """The score of each trial against time, with the best so far (`plot_search`)."""
        from keras_transfer.tuning.results import plot_search

        return plot_search(self.table, path, self.objective, reference)

    def summary(self) -> str:
        """A few lines: the best score and values, trials, why it stopped, feature extractions."""
        lines = [f"search: {len(self.table)} trials ({len(self.trials_run)} in this run), stopped: {self.stopped}, "
                 f"{self.seconds:.0f} s"]
        if self.best_trial is not None:
            lines.append(f"best {self.objective} {self.best_score:.4f} (trial {self.best_trial['trial_id']}): "
                         + ", ".join(f"{key}={value}" for key, value in self.best_trial["values"].items()))
            lines.append(f"best config: {self.best_config_path}")
        lines.append(f"feature extractions: {dict(self.extractions)}; reused by {self.feature_reuses} trials")
        return "\n".join(lines)


def search(data: Any, space: Mapping[str, Any] | None = None, *, budget_s: float | None = None,
           max_trials: int | None = None, tuner: str = "hyperband", directory: str | os.PathLike = "search",
           project_name: str = "recipe", objective: str = "val_accuracy", top_k: int = 3, overwrite: bool = False,
           clock: Callable[[], float] = time.monotonic, trial_verbose: int = 0, verbose: int = 1,
           **fixed) -> SearchResult:
    """Searches the transfer recipe's hyper-parameters with KerasTuner, each trial a `FitConfig`.

    Trials with the same backbone and image size train their heads on one
    feature extraction; Hyperband (the default) trains many points for few
    epochs per stage and only the best for more; the budget is checked before
    each trial (the search ends within one trial's duration of it); after each
    trial the best config so far is written to `directory/project_name/best_config.json`;
    a killed search called again with the same `directory` resumes, repeating no
    finished trial. Distributed: run the same script in a chief and in workers
    with KerasTuner's `KERASTUNER_TUNER_ID` (`chief`, `tuner0`, ...),
    `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`, and a shared `directory`.

    Args:
        data: the labelled data (any kind `build_and_fit` takes; validation from `validation_split` or
            `validation_data`: the objective is measured there).
        space: changes to the default space by parameter name (`keras_transfer.tuning.space.KNOWN_PARAMETERS`):
            `(low, high)` a range, a list a choice, a value fixed, None not searched.
        budget_s: wall seconds the search may spend (None: no budget).
        max_trials: the most trials (needed by "bayesian" and "random"; a cap on Hyperband's schedule).
        tuner: "hyperband", "bayesian" or "random".
        directory, project_name: KerasTuner's project folder (kept; reloaded when it exists).
        objective: the validation metric: "val_accuracy" (maximised) or "val_loss" (minimised), or another
            `val_<metric>`.
        top_k: with `backbone="auto"` and `candidates=`, how many of the ranking's best backbones are searched.
        overwrite: start afresh instead of resuming the project.
        clock: the budget's clock (seconds; injectable for tests).
        trial_verbose: the recipe's verbosity inside trials.
        verbose: KerasTuner's trial lines (0 silent).
        **fixed: `build_and_fit` options held constant (backbone=, weights=, image_size=, epochs= (Hyperband:
            the most epochs per stage), seed=, ...).

    Returns:
        A `SearchResult` with `best_config`, `table`, `refit()` and `plot()`.

    Raises:
        ValueError: a bad space, tuner or option (with the fix).

    Example:
        >>> result = keras_transfer.search("fashion/", backbone="mobilenet", weights=weights, image_size=48,
        ...                                budget_s=600, max_trials=12, tuner="hyperband", directory="searches/f")
        >>> result.best_config.training.stages
        >>> keras_transfer.build_and_fit_from_config(result.best_config_path)
    """
    from keras_transfer.tuning.results import results_table
    from keras_transfer.tuning.tuner import TUNERS, RecipeHyperModel, RecipeTuner, make_oracle

    if tuner not in TUNERS:
        raise ValueError(f"tuner must be one of {TUNERS}, got {tuner!r}.")
    if max_trials is not None and max_trials < 1:
        raise ValueError(f"max_trials must be a positive number of trials, got {max_trials}.")
    for name, why in NOT_FIXED.items():
        if name in fixed:
            raise ValueError(f"search() does not take {name}=: {why}.")
    if not objective.startswith("val_"):
        raise ValueError(f"objective must be a validation metric ('val_accuracy', 'val_loss', ...), got "
                         f"{objective!r}.")
    fixed = {"data": data, **fixed}
    FitConfig.from_arguments(**fixed)  # unknown options raise here, naming the known ones
    budget = Budget(budget_s, clock)
    candidates = None
    if fixed.get("backbone") == "auto":
        candidates = rank_top_k(fixed, top_k, Log(trial_verbose))
        for name in ("backbone", "weights", "candidates", "rank_by"):
            fixed.pop(name, None)
    search_space = SearchSpace(space, {key: value for key, value in fixed.items() if key != "data"}, candidates)
    store = SharedFeatures()
    oracle = make_oracle(tuner, objective, max_trials, max_epochs=int(fixed.get("epochs") or 5),
                         seed=int(fixed.get("seed", 0)))
    recipe_tuner = RecipeTuner(oracle, RecipeHyperModel(search_space, fixed), budget=budget, feature_store=store,
                               objective=objective, directory=str(directory), project_name=project_name,
                               overwrite=overwrite, verbose=trial_verbose)
    started = time.perf_counter()
    stopped = recipe_tuner.run(verbose=verbose)
    project_dir = Path(recipe_tuner.project_dir)
    best_path = project_dir / BEST_CONFIG
    best_trial = json.loads((project_dir / BEST_TRIAL).read_text()) if (project_dir / BEST_TRIAL).exists() else None
    return SearchResult(
        best_config=FitConfig.read(best_path) if best_trial is not None else None,
        best_config_path=best_path if best_trial is not None else None,
        best_score=best_trial["score"] if best_trial is not None else None, best_trial=best_trial,
        objective=objective, table=results_table(project_dir, objective), stopped=stopped,
        trials_run=list(recipe_tuner.trials_run), extractions=dict(store.extractions),
        feature_reuses=store.reuses, seconds=time.perf_counter() - started, project_dir=project_dir,
        reload_options=reload_options(fixed),
    )


def rank_top_k(fixed: dict[str, Any], top_k: int, log: Log) -> dict[str, Any]:
    """`backbone="auto"`: ranks the `candidates` once on the training split; `{name: weights}` of the top k."""
    candidates = fixed.get("candidates")
    if not candidates:
        raise ValueError("backbone='auto' searches the ranking's top k: give candidates=[('mobilenet', "
                         "'imagenet'), ...].")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    from keras_transfer.ranking.rank import rank_spec

    config = FitConfig.from_arguments(**{key: value for key, value in fixed.items() if key != "backbone"})
    train_spec, _, config = load_run_data(config, log)
    rank_by = config.model.rank_by
    ranking = rank_spec(train_spec, candidates, scores=tuple(dict.fromkeys([rank_by, "logme"])),
                        image_size=config.model.image_size, batch_size=config.training.batch_size,
                        seed=config.runtime.seed, trusted=rank_by, log=log)
    return ranked_candidates(ranking, candidates, top_k)


def reload_options(fixed: Mapping[str, Any]) -> dict[str, Any]:
    """The fixed options a saved config cannot hold (arrays, a custom backbone): `refit` passes them again."""
    recorded = FitConfig.from_arguments(**fixed).to_dict()
    return {name: fixed[name] for name in fixed
            if isinstance(recorded.get(name), str) and recorded[name].startswith("<")}
