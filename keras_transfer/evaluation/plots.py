"""Matplotlib figures: training curves by stage, confusion matrix, most-confused pairs,
highest-loss gallery and reliability diagram.

Every function builds a `matplotlib.figure.Figure` directly (no pyplot), so it
needs no display and no backend: it works headless, in scripts and in
notebooks (where the returned figure shows once). Each takes an optional
`path`: the figure is then also written as a PNG there.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from keras_transfer.evaluation.metrics import Evaluation

TRAIN_COLOUR, VAL_COLOUR = "#1f77b4", "#ff7f0e"
STAGE_BOUNDARY_GID = "stage-boundary"  # gid of the vertical lines between stages (for tests and tooling)
STAGE_LABEL_GID = "stage-label"
_LR_KEYS = ("learning_rate", "lr")


# --- saving ------------------------------------------------------------------------------------


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Writes `fig` as a PNG (or any format matplotlib knows from the suffix), creating folders.

    Args:
        fig: the figure.
        path: where to write.
        dpi: resolution.

    Returns:
        The path written.

    Example:
        >>> save_figure(plot_confusion_matrix(ev), "out/confusion.png")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white")
    return path


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (for embedding in HTML).

    Example:
        >>> base64.b64encode(figure_to_png(plot_reliability(ev)))
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _finish(fig: Figure, path: str | os.PathLike | None, dpi: int) -> Figure:
    if path is not None:
        save_figure(fig, path, dpi)
    return fig


# --- training curves ---------------------------------------------------------------------------


def normalize_history(history: Any) -> list[dict]:
    """Per-stage history from any of the shapes training produces.

    Args:
        history: a list of stage dicts `{"name", "first_epoch", "epochs_run",
            "metrics": {name: [per-epoch values]}}` (as `FitResult.history`),
            a `keras.callbacks.History`, or a dict of per-epoch lists (one stage).

    Returns:
        A list of stage dicts with `name`, `first_epoch` (0-based, global),
        `epochs_run` and `metrics`; missing first epochs follow on from the
        previous stage, missing epoch counts come from the metric lengths.
    """
    if hasattr(history, "history") and isinstance(history.history, Mapping):
        history = history.history
    if isinstance(history, Mapping):
        history = [{"name": "training", "metrics": dict(history)}]
    stages, next_epoch = [], 0
    for index, stage in enumerate(history):
        metrics = {key: [float(v) for v in values] for key, values in dict(stage.get("metrics", {})).items()}
        epochs = stage.get("epochs_run")
        if epochs is None:
            epochs = max((len(values) for values in metrics.values()), default=0)
        first = stage.get("first_epoch")
        first = next_epoch if first is None else int(first)
        stages.append({**stage, "name": str(stage.get("name", f"stage {index + 1}")), "first_epoch": first,
                       "epochs_run": int(epochs), "metrics": metrics})
        next_epoch = first + int(epochs)
    return stages


def _metric_names(stages: list[dict], metrics: Sequence[str] | None) -> list[str]:
    if metrics is not None:
        return list(metrics)
    names: list[str] = []
    for stage in stages:
        for key in stage["metrics"]:
            base = key.removeprefix("val_")
            if base not in names:
                names.append(base)
    names.sort(key=lambda name: (name != "loss", name in _LR_KEYS))  # loss first, learning rate last
    return names


def plot_history(
    history: Any,
    *,
    metrics: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    dpi: int = 100,
) -> Figure:
    """Training and validation curves over all stages, with the stage boundaries marked and named.

    Each metric gets a panel with its training curve (solid) and `val_`
    curve (dashed) against the global epoch (1-based). A dotted vertical line
    (gid `"stage-boundary"`) separates consecutive stages, each stage's span
    is shaded alternately and named at the top (texts with gid `"stage-label"`).

    Args:
        history: per-stage history (see `normalize_history`).
        metrics: base metric names to plot (e.g. `["loss", "accuracy"]`);
            default: every metric, loss first.
        path: optional PNG path.
        dpi: resolution when saving.

    Returns:
        The figure.

    Example:
        >>> plot_history(result.history, path="curves.png")
    """
    stages = normalize_history(history)
    names = _metric_names(stages, metrics)
    if not names:
        raise ValueError("The history holds no metrics to plot.")
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(5.2 * columns, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).reshape(-1)
    for ax, name in zip(axes, names):
        _plot_metric(ax, stages, name)
        _mark_stages(ax, stages)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Training curves by stage")
    return _finish(fig, path, dpi)


def _plot_metric(ax, stages: list[dict], name: str) -> None:
    for key, colour, style, label in ((name, TRAIN_COLOUR, "-", "train"), (f"val_{name}", VAL_COLOUR, "--", "val")):
        for index, stage in enumerate(stages):
            values = stage["metrics"].get(key)
            if not values:
                continue
            epochs = np.arange(len(values)) + stage["first_epoch"] + 1
            ax.plot(epochs, values, style, color=colour, marker="o", markersize=3,
                    label=label if index == _first_with(stages, key) else None)
    if name in _LR_KEYS:
        ax.set_yscale("log")
    elif ax.has_data():
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.12 * (high - low))  # room for the stage names
    ax.set_title(name.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)


def _first_with(stages: list[dict], key: str) -> int | None:
    return next((i for i, stage in enumerate(stages) if stage["metrics"].get(key)), None)


def _mark_stages(ax, stages: list[dict]) -> None:
    transform = ax.get_xaxis_transform()  # x in data units, y in axes fraction
    for index, stage in enumerate(stages):
        start = stage["first_epoch"] + 0.5
        end = start + max(stage["epochs_run"], 1)
        if index % 2:
            ax.axvspan(start, end, color="0.5", alpha=0.08, linewidth=0)
        if index:
            ax.axvline(start, color="0.35", linestyle=":", linewidth=1.2, gid=STAGE_BOUNDARY_GID)
        ax.text(start + 0.08, 0.98, stage["name"], transform=transform, ha="left", va="top", fontsize=8,
                color="0.25", gid=STAGE_LABEL_GID, clip_on=True)
    last = stages[-1]["first_epoch"] + max(stages[-1]["epochs_run"], 1) + 0.5
    ax.set_xlim(stages[0]["first_epoch"] + 0.5, last)


# --- confusion ---------------------------------------------------------------------------------


def _short(name: str, width: int = 20) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def normalized_confusion(evaluation: Evaluation) -> np.ndarray:
    """The confusion matrix divided by each true class's support (rows of absent classes stay 0)."""
    support = np.asarray(evaluation.support, dtype=np.float64)
    return np.divide(evaluation.confusion_matrix, support[:, None],
                     out=np.zeros(evaluation.confusion_matrix.shape, dtype=np.float64), where=support[:, None] > 0)


def plot_confusion_matrix(
    evaluation: Evaluation,
    *,
    normalize: bool = True,
    annotate: bool | None = None,
    path: str | os.PathLike | None = None,
    dpi: int = 100,
) -> Figure:
    """A heatmap of the confusion matrix, rows normalised by the true class (recall on the diagonal).

    Args:
        evaluation: an `Evaluation`.
        normalize: colour by row fraction (else by count).
        annotate: write the values in the cells; default when there are at most 20 classes.
        path: optional PNG path.
        dpi: resolution when saving.

    Returns:
        The figure.

    Example:
        >>> plot_confusion_matrix(evaluate(result, (x, y)), path="confusion.png")
    """
    counts = evaluation.confusion_matrix
    values = normalized_confusion(evaluation) if normalize else counts.astype(np.float64)
    size = len(evaluation.class_names)
    side = float(np.clip(1.6 + 0.55 * size, 4.5, 22))
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else max(1, values.max()))
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    names = [_short(name) for name in evaluation.class_names]
    ax.set_xticks(range(size), names, rotation=45 if size > 3 else 0, ha="right" if size > 3 else "center",
                  fontsize=max(5, 10 - size // 8))
    ax.set_yticks(range(size), names, fontsize=max(5, 10 - size // 8))
    ax.set_xlabel("predicted label (off the diagonal: false positives)" if evaluation.multi_label else "predicted")
    ax.set_ylabel("true label" if evaluation.multi_label else "true")
    if annotate if annotate is not None else size <= 20:
        _annotate_cells(ax, values, counts, normalize)
    kind = "label co-occurrence" if evaluation.multi_label else "confusion matrix"
    ax.set_title(f"{kind.capitalize()} ({'row-normalised: recall on the diagonal' if normalize else 'counts'})",
                 fontsize=10)
    return _finish(fig, path, dpi)


def _annotate_cells(ax, values: np.ndarray, counts: np.ndarray, normalize: bool) -> None:
    size = len(values)
    fontsize = 9 if size <= 8 else 7 if size <= 14 else 5.5
    top = values.max() or 1
    for (i, j), value in np.ndenumerate(values):
        text = f"{value:.0%}\n{counts[i, j]}" if normalize and size <= 10 else (
            f"{value:.0%}" if normalize else f"{counts[i, j]}")
        colour = "white" if value > 0.55 * top else "0.15"
        ax.text(j, i, text, ha="center", va="center", fontsize=fontsize, color=colour)


def plot_most_confused(
    evaluation: Evaluation,
    *,
    n: int = 10,
    path: str | os.PathLike | None = None,
    dpi: int = 100,
) -> Figure:
    """A horizontal bar chart of the most frequent "true → predicted" mistakes.

    Args:
        evaluation: an `Evaluation`.
        n: how many pairs.
        path: optional PNG path.
        dpi: resolution when saving.

    Returns:
        The figure; with no mistakes it says so instead of drawing bars.

    Example:
        >>> plot_most_confused(ev, n=5)
    """
    pairs = evaluation.most_confused(n)
    fig = Figure(figsize=(6.2, 1.2 + 0.4 * max(len(pairs), 2)), layout="constrained")
    ax = fig.subplots()
    ax.set_title(f"Most confused pairs (top {n})", fontsize=11)
    if not pairs:
        ax.text(0.5, 0.5, "No confusions: every sample was classified correctly.", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return _finish(fig, path, dpi)
    labels = [f"{_short(p['true'])} → {_short(p['predicted'])}" for p in pairs][::-1]
    counts = [p["count"] for p in pairs][::-1]
    fractions = [p["fraction"] for p in pairs][::-1]
    bars = ax.barh(labels, counts, color="#d62728", alpha=0.75)
    for bar, count, fraction in zip(bars, counts, fractions):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {count} ({fraction:.0%} of true class)",
                va="center", fontsize=8)
    ax.set_xlabel("samples")
    ax.set_xlim(0, max(counts) * 1.45)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return _finish(fig, path, dpi)


# --- highest-loss gallery ----------------------------------------------------------------------


def _display_image(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype.kind == "f":
        image = image / 255.0 if image.max(initial=0) > 1.5 else image
        image = np.clip(image, 0, 1)
    return image, "gray" if image.ndim == 2 else None


def _caption(evaluation: Evaluation, index: int) -> tuple[str, bool]:
    names, prob = evaluation.class_names, evaluation.y_prob[index]
    loss = evaluation.losses[index]
    if evaluation.multi_label:
        true = [_short(names[i], 12) for i in np.flatnonzero(evaluation.y_true[index])]
        pred = [_short(names[i], 12) for i in np.flatnonzero(prob > evaluation.threshold)]
        right = true == pred
        return f"true: {', '.join(true) or '—'}\npred: {', '.join(pred) or '—'}\nloss {loss:.2f}", right
    true, pred = int(evaluation.y_true[index]), int(np.argmax(prob))
    text = (f"true: {_short(names[true], 16)} ({prob[true]:.2f})\n"
            f"pred: {_short(names[pred], 16)} ({prob[pred]:.2f})\nloss {loss:.2f}")
    return text, true == pred


def plot_highest_loss(
    evaluation: Evaluation,
    images: np.ndarray | None = None,
    *,
    n: int = 12,
    columns: int = 6,
    path: str | os.PathLike | None = None,
    dpi: int = 100,
) -> Figure:
    """A gallery of the highest-loss samples with their true and predicted class and probabilities.

    The samples run from the highest loss, row by row. Each caption gives the
    true and the predicted class, each with its probability, and the loss (for
    a multi-label evaluation: the true and the predicted labels, and the loss).

    Args:
        evaluation: an `Evaluation`.
        images: every evaluated image, aligned with `evaluation.y_true`;
            default: the `hardest_images` that `evaluate()` kept.
        n: how many images.
        columns: images per row.
        path: optional PNG path.
        dpi: resolution when saving.

    Returns:
        The figure; captions are red for wrong predictions, green for right ones.

    Raises:
        ValueError: without images, or with images not aligned with the evaluation.

    Example:
        >>> plot_highest_loss(ev, x_test, n=8)
    """
    indices, pixels = _gallery_images(evaluation, images, n)
    columns = max(1, min(columns, len(indices)))
    rows = -(-len(indices) // columns)
    fig = Figure(figsize=(2.2 * columns, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).reshape(-1)
    for ax, index, image in zip(axes, indices, pixels):
        shown, cmap = _display_image(image)
        ax.imshow(shown, cmap=cmap, interpolation="nearest")
        caption, right = _caption(evaluation, int(index))
        ax.set_title(caption, fontsize=9, color="#2ca02c" if right else "#d62728", loc="left")
        ax.set_axis_off()
    for ax in axes[len(indices):]:
        ax.set_visible(False)
    fig.suptitle(f"Highest-loss samples (top {len(indices)})", fontsize=11)
    return _finish(fig, path, dpi)


def _gallery_images(evaluation: Evaluation, images, n: int) -> tuple[np.ndarray, Any]:
    if images is not None:
        if len(images) != evaluation.num_samples:
            raise ValueError(f"images has {len(images)} entries but the evaluation has {evaluation.num_samples} "
                             "samples; pass the images in the order they were evaluated.")
        indices = evaluation.highest_loss(n)
        return indices, [images[i] for i in indices]
    if evaluation.hardest_images is None or evaluation.hardest_indices is None or not len(evaluation.hardest_indices):
        raise ValueError("No images: pass images= (aligned with the evaluation), or use evaluate(), which keeps "
                         "the highest-loss images.")
    return evaluation.hardest_indices[:n], evaluation.hardest_images[:n]


# --- calibration -------------------------------------------------------------------------------


def plot_reliability(
    evaluation: Evaluation,
    *,
    path: str | os.PathLike | None = None,
    dpi: int = 100,
) -> Figure:
    """A reliability diagram: accuracy against confidence per bin, with the gap to the diagonal,
    and the number of samples per bin underneath.

    Args:
        evaluation: an `Evaluation` (its `calibration` bins).
        path: optional PNG path.
        dpi: resolution when saving.

    Returns:
        The figure; its title gives the expected calibration error.

    Example:
        >>> plot_reliability(ev, path="reliability.png")
    """
    bins = evaluation.calibration
    edges, count = bins["edges"], bins["count"]
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    filled = count > 0
    accuracy = np.where(filled, bins["accuracy"], 0.0)
    confidence = np.where(filled, bins["confidence"], centres)
    fig = Figure(figsize=(5.6, 6.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(centres, accuracy, width=width, color=TRAIN_COLOUR, alpha=0.85, edgecolor="white", label="observed")
    gap_base = np.minimum(accuracy, confidence)
    top.bar(centres[filled], np.abs(confidence - accuracy)[filled], bottom=gap_base[filled], width=width[filled],
            facecolor="none", edgecolor="#d62728", hatch="///", linewidth=1, label="gap to mean confidence")
    top.plot([0, 1], [0, 1], "--", color="0.3", linewidth=1, label="perfectly calibrated")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("fraction positive" if evaluation.multi_label else "accuracy")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"Reliability diagram — ECE {evaluation.ece:.3f}", fontsize=11)
    bottom.bar(centres, count, width=width, color="0.5", edgecolor="white")
    bottom.set_ylabel("samples")
    bottom.set_xlabel("predicted probability (every label)" if evaluation.multi_label
                      else "confidence (top-1 probability)")
    return _finish(fig, path, dpi)
