"""What `keras-transfer` shows: progress bars and status lines on stderr, results and summaries on stdout.

Example:
    >>> status("Exporting to runs/photos/export ...", quiet=False)
    Exporting to runs/photos/export ...
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any


def progress(items: Iterable, total: int, description: str, unit: str = "it", quiet: bool = False) -> Iterator:
    """Iterates `items` with a tqdm progress bar on stderr (none when quiet).

    Args:
        items: what to iterate.
        total: how many items there are.
        description: the bar's label.
        unit: the unit shown.
        quiet: no bar.

    Returns:
        An iterator over `items`.

    Example:
        >>> for batch in progress(dataset, total=10, description="Evaluating"):
        ...     pass
    """
    from tqdm import tqdm

    return iter(tqdm(items, total=total, desc=description, unit=unit, disable=quiet, file=sys.stderr,
                     leave=False, dynamic_ncols=True))


def progress_bar(total: int, description: str, unit: str = "it", quiet: bool = False) -> Any:
    """A tqdm bar to `update()` by hand, on stderr (disabled when quiet); use it as a context manager.

    Args:
        total: the total count.
        description: the bar's label.
        unit: the unit shown.
        quiet: no bar.

    Returns:
        The tqdm bar.

    Example:
        >>> with progress_bar(100, "Predicting", unit="image") as bar:
        ...     bar.update(64)
    """
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, disable=quiet, file=sys.stderr, leave=False,
                dynamic_ncols=True)


def batch_progress(description: str, quiet: bool = False) -> Callable[[Iterable, int], Iterator]:
    """A `progress(batches, total)` callback for `keras_transfer.serving.loading.evaluation_dataset`.

    Args:
        description: the bar's label.
        quiet: no bar.

    Returns:
        A function that wraps the batches in a progress bar.

    Example:
        >>> dataset = evaluation_dataset(spec, (224, 224), 32, progress=batch_progress("Evaluating"))
    """

    def wrap(batches: Iterable, total: int) -> Iterator:
        return progress(batches, total=total, description=description, unit="batch", quiet=quiet)

    return wrap


def status(message: str, quiet: bool = False) -> None:
    """A status line on stderr (nothing when quiet).

    Args:
        message: the line.
        quiet: print nothing.

    Returns:
        None: the line goes to stderr.

    Example:
        >>> status("Writing the report to runs/photos/report.html ...")
    """
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def megabytes(size: int) -> str:
    """A byte count as megabytes.

    Args:
        size: bytes.

    Returns:
        E.g. `"12.3 MB"`.

    Example:
        >>> megabytes(12_345_678)
        '12.3 MB'
    """
    return f"{size / 1e6:.1f} MB"


def print_fit_summary(result: Any, written: Mapping[str, Path], quiet: bool = False) -> None:
    """Prints the stages, validation metrics, the kept model, warnings (when quiet) and the files written.

    Args:
        result: the `FitResult`.
        written: what was written, by kind.
        quiet: training printed nothing, so print the warnings here.

    Returns:
        None: the lines go to stdout.

    Example:
        >>> print_fit_summary(result, {"config": Path("runs/photos/config.json")})
    """
    print(result.summary())
    if result.kept != "fine_tuned":
        print(f"  kept: the {result.kept} model (it scored better than the fine-tuned one)")
    if quiet:
        for line in result.warnings:
            print(f"WARNING: {line}")
    for kind, path in written.items():
        print(f"  {kind}: {path}")


def print_evaluation(evaluation: Any) -> None:
    """Prints an `Evaluation`'s metrics table and, single-label, its most confused class pairs.

    Args:
        evaluation: from `keras_transfer.evaluate`.

    Returns:
        None: the table goes to stdout.

    Example:
        >>> print_evaluation(evaluate(classifier, dataset))
    """
    print(evaluation)
    confused = evaluation.most_confused(5) if not evaluation.multi_label else []
    if confused:
        print("  most confused: " + "; ".join(
            f"{pair['true']} -> {pair['predicted']} ({pair['count']})" for pair in confused))


def print_export_summary(result: Any) -> None:
    """Prints an export's folder and size, each TFLite file with its scores, and the ONNX file.

    Args:
        result: the `ExportResult` of `keras_transfer.export`.

    Returns:
        None: one line per file goes to stdout.

    Example:
        >>> print_export_summary(export(model, "out", class_names=names))
    """
    print(f"  {result.directory}  ({megabytes(result.total_bytes)} in {len(result.files)} files)")
    for name, tflite in result.tflite.items():
        scores = "" if tflite.accuracy is None else (
            f", accuracy {tflite.accuracy:.4f}, agrees with Keras on {tflite.agreement:.1%}")
        print(f"  tflite {name}: {tflite.path.name} {megabytes(tflite.size_bytes)}, "
              f"{tflite.input_dtype} input{scores}")
    if result.onnx is not None:
        print(f"  onnx: {result.onnx}")


def format_prediction(row: Mapping[str, Any]) -> str:
    """One printed line: input, top class and probability, the other top-k classes, multi-label labels.

    Args:
        row: a result dict of `Predictor.predict`.

    Returns:
        The line.

    Example:
        >>> format_prediction({"input": "a.png", "class_name": "cat", "probability": 0.9,
        ...                    "top_k": [{"class_name": "cat", "probability": 0.9}]})
        'a.png\\tcat\\t0.9000'
    """
    line = f"{row['input']}\t{row['class_name']}\t{row['probability']:.4f}"
    others = row["top_k"][1:]
    if others:
        line += "\t" + ", ".join(f"{entry['class_name']} {entry['probability']:.4f}" for entry in others)
    if "labels" in row:
        line += "\tlabels: " + ("|".join(row["labels"]) or "-")
    return line


def write_predictions_csv(path: str | os.PathLike, results: Sequence[Mapping[str, Any]], top_k: int,
                          multi_label: bool) -> Path:
    """Writes predictions as CSV: `input, class_name, probability`, then `class_i, probability_i` for i in 2..k.

    Multi-label predictions add a `labels` column (labels at or above the
    threshold, joined with `|`).

    Args:
        path: the CSV file (folders are created).
        results: `Predictor.predict` result dicts.
        top_k: how many classes each result lists.
        multi_label: add the `labels` column.

    Returns:
        The path written.

    Example:
        >>> write_predictions_csv("out.csv", predictor.predict(["a.png"], top_k=2), 2, False)
        PosixPath('out.csv')
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["input", "class_name", "probability"]
    for rank in range(2, top_k + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    if multi_label:
        header.append("labels")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in results:
            values = [row["input"], row["class_name"], f"{row['probability']:.6f}"]
            for entry in row["top_k"][1:top_k]:
                values += [entry["class_name"], f"{entry['probability']:.6f}"]
            if multi_label:
                values.append("|".join(row.get("labels", [])))
            writer.writerow(values)
    return path
