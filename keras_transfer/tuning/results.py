"""The search's results: a table (pandas) with a row per trial, and a plot of score against time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from keras_transfer.evaluation.plots import save_figure
from keras_transfer.tuning.tuner import trial_files

COLUMNS = ("trial_id", "status", "score", "epochs", "seconds", "started_s", "extracted_features", "continues")


def results_table(project_dir: str | os.PathLike, objective: str = "val_accuracy"):
    """A row per trial of a search's project folder, best score first.

    Args:
        project_dir: the KerasTuner project folder (`SearchResult.project_dir`).
        objective: the score column's metric.

    Returns:
        A pandas DataFrame: `trial_id, status, score, epochs, seconds, started_s, extracted_features,
        continues`, one column per searched parameter and one per validation metric.

    Example:
        >>> results_table("searches/fashion/search").head()
    """
    import pandas as pd

    rows = []
    for state, record in trial_files(project_dir):
        row: dict[str, Any] = {"trial_id": state["trial_id"], "status": state.get("status"),
                               "score": state.get("score")}
        if record is not None:
            row.update({key: record.get(key) for key in COLUMNS if key in record})
            row.update(record["values"])
            row.update(record["metrics"])
            row["score"] = record["metrics"].get(objective, row["score"])
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    ascending = objective.endswith("loss")
    return table.sort_values("score", ascending=ascending, na_position="last").reset_index(drop=True)


def plot_search(table, path: str | os.PathLike | None = None, objective: str = "val_accuracy",
                reference: float | None = None) -> Figure:
    """Each trial's score at the time it ended, and the best so far; an optional reference line (the default recipe).

    Args:
        table: from `results_table`.
        path: also write the figure there (PNG).
        objective: the score's name, for the axis.
        reference: a score drawn as a horizontal line (e.g. the default recipe's).

    Returns:
        The matplotlib Figure.
    """
    fig = Figure(figsize=(6.5, 4))
    axes = fig.add_subplot()
    done = table.dropna(subset=["score"]).copy()
    if "started_s" in done and "seconds" in done:
        done["ended_s"] = done["started_s"] + done["seconds"]
        done = done.sort_values("ended_s")
        minimise = objective.endswith("loss")
        best = done["score"].cummin() if minimise else done["score"].cummax()
        axes.scatter(done["ended_s"], done["score"], label="trial", color="#1f77b4")
        axes.step(done["ended_s"], best, where="post", label="best so far", color="#ff7f0e")
        axes.set_xlabel("seconds since the search started")
    if reference is not None:
        axes.axhline(reference, linestyle="--", color="grey", label="default recipe")
    axes.set_ylabel(objective)
    axes.set_title("search")
    axes.legend(loc="lower right")
    if path is not None:
        save_figure(fig, Path(path))
    return fig
