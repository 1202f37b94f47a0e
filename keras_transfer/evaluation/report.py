"""`write_report()`: one self-contained HTML file that explains a training run.

The file embeds every figure as a base64 PNG and its CSS inline, links to no
URL and runs no script, so it opens offline, can be mailed, and archives as is.
Every user-supplied string (class names, paths, config values) is HTML-escaped.

Element ids, for tooling and tests: `warnings`, `data-summary`, `class-counts`,
`skipped-files`, `config`, `training-curves`, `metrics-table` (summary
metrics), `per-class-table`, `confusion-matrix` (the <img>), `most-confused`,
`highest-loss`, `reliability-diagram`, `baselines-table`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from keras_transfer.evaluation import plots
from keras_transfer.evaluation.diagnostics import IMBALANCE_RATIO, imbalance_warnings
from keras_transfer.evaluation.metrics import Evaluation
from keras_transfer.metric_direction import higher_is_better

MAX_SKIPPED_ROWS = 200

_CSS = """
:root { --ink:#1d2733; --muted:#5b6675; --line:#dde3ea; --accent:#1f77b4; --warn:#b35900; --warnbg:#fff4e5; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--ink);
  background:#f4f6f9; }
main { max-width:1180px; margin:0 auto; padding:24px 28px 48px; }
header h1 { margin:0 0 4px; font-size:28px; }
.meta { color:var(--muted); margin:0 0 18px; font-size:13px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:8px 0 18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:10px 16px; min-width:140px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:24px; font-weight:600; }
nav { background:#fff; border:1px solid var(--line); border-radius:10px; padding:8px 14px; margin-bottom:18px;
  font-size:14px; }
nav a { color:var(--accent); text-decoration:none; margin-right:14px; white-space:nowrap; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:16px 20px; margin:0 0 18px; }
section h2 { margin:0 0 10px; font-size:20px; }
section h3 { margin:16px 0 8px; font-size:16px; }
.warnings { background:var(--warnbg); border:2px solid #f0a040; border-left:10px solid var(--warn); }
.warnings h2 { color:var(--warn); }
.warnings li { margin:6px 0; font-weight:500; }
table { border-collapse:collapse; font-size:13.5px; margin:4px 0 8px; }
th, td { border-bottom:1px solid var(--line); padding:5px 10px; text-align:left; }
th { background:#eef2f6; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr:nth-child(even) td { background:#fafbfc; }
td.best { font-weight:700; color:#0b6b2b; }
td.flag { color:var(--warn); font-weight:700; }
.note { color:var(--muted); font-size:13px; }
pre { background:#f6f8fa; border:1px solid var(--line); border-radius:6px; padding:10px 12px; overflow:auto;
  font-size:12.5px; max-height:480px; }
img.figure { max-width:100%; height:auto; display:block; margin:6px 0; }
.two { display:grid; grid-template-columns:repeat(auto-fit,minmax(420px,1fr)); gap:16px; align-items:start; }
footer { color:var(--muted); font-size:12px; text-align:center; }
"""


def write_report(
    path: str | os.PathLike,
    *,
    evaluation: Evaluation,
    history: Any = None,
    config: Mapping[str, Any] | None = None,
    data_summary: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Any] | None = None,
    warnings: Sequence[str] | None = None,
    images: np.ndarray | None = None,
    title: str = "Transfer learning report",
    recipes: Mapping[str, str] | None = None,
    ranking: Mapping[str, Any] | None = None,
    domain: Mapping[str, Any] | None = None,
    distillation: Mapping[str, Any] | None = None,
) -> Path:
    """Writes one self-contained HTML report of a run.

    Sections (those without data are left out): warnings (given ones plus a
    class-imbalance warning when the largest/smallest class count ratio is
    above 3), data summary, config, training curves per stage, metrics,
    confusion matrix and most-confused pairs, highest-loss gallery,
    reliability diagram and baselines.

    Args:
        path: the .html file to write (folders are created).
        evaluation: the `Evaluation` to report.
        history: per-stage training history (see `plots.normalize_history`).
        config: the run's settings, shown as JSON.
        data_summary: `{"train_counts": {class: n}, "val_counts": {...},
            "skipped": [{"path", "reason"}], "class_weight": {...} or None}`;
            other keys are listed as they are.
        baselines: `{name: {"accuracy": ..., ...}}` (or `{name: score}`), e.g.
            `linear_probe`, `scratch`, `fine_tuned`.
        warnings: sentences to show prominently (e.g. from `transfer_warnings`).
        images: every evaluated image, aligned with the evaluation, for the
            gallery; default: the highest-loss images `evaluate()` kept.
        title: the page title.
        recipes: `{baseline name: how it was trained}`, shown under the
            baselines table (e.g. the scratch model's plan and epochs).
        ranking: a backbone ranking (`RankingTable.to_dict()`), shown as a table.
        domain: a domain-adaptation record (`FitResult.method_record["domain"]`): target accuracies,
            A-distances and the 2-D embeddings of source and target features before and after.
        distillation: a distillation comparison (`FitResult.method_record["comparison"]`): teacher and
            student accuracy, parameters, CPU latency at batch 1 and 32, TFLite size, and their ratios.

    Returns:
        The path written.

    Example:
        >>> ev = evaluate(result, (x_val, y_val))
        >>> write_report("report.html", evaluation=ev, history=result.history, config=result.config,
        ...              data_summary=result.data_summary, warnings=transfer_warnings(...))
    """
    data_summary = dict(data_summary or {})
    # dict.fromkeys keeps the order and drops a data warning the caller already gave.
    all_warnings = list(dict.fromkeys([str(w) for w in (warnings or [])] + _data_warnings(data_summary)))
    sections = [
        ("warnings", "Warnings", _warnings_section(all_warnings)),
        ("data-summary", "Data", _data_section(data_summary)),
        ("config", "Config", _config_section(config)),
        ("training-curves", "Training curves", _history_section(history)),
        ("metrics", "Metrics", _metrics_section(evaluation)),
        ("confusion", "Confusion", _confusion_section(evaluation)),
        ("errors", "Highest loss", _gallery_section(evaluation, images)),
        ("calibration", "Calibration", _calibration_section(evaluation)),
        ("baselines", "Baselines", _baselines_section(baselines, recipes)),
        ("ranking", "Backbone ranking", _ranking_section(ranking)),
        ("domain", "Domain adaptation", _domain_section(domain) or _evaluated_domain_section(evaluation)),
        ("distillation", "Teacher and student", _distillation_section(distillation)),
    ]
    sections = [(anchor, name, body) for anchor, name, body in sections if body]
    page = _page(title, evaluation, sections)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


# --- page ----------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, evaluation: Evaluation, sections: list[tuple[str, str, str]]) -> str:
    from keras_transfer.version import __version__

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<a href="#{anchor}">{_e(name)}</a>' for anchor, name, _ in sections)
    body = "\n".join(body for _, _, body in sections)
    task = "multi-label" if evaluation.multi_label else "single-label"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="meta">{evaluation.num_samples} evaluated samples · {len(evaluation.class_names)} classes ({task}) ·
generated {stamp} · keras_transfer {_e(__version__)}</p>
{_cards(evaluation)}
</header>
<nav>{nav}</nav>
{body}
<footer>Self-contained report: figures are embedded, nothing is loaded from the network.</footer>
</main>
</body>
</html>
"""


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "—" if math.isnan(value) else f"{value:.{digits}f}"
    return _e(value)


def _cards(evaluation: Evaluation) -> str:
    items = [("accuracy" if not evaluation.multi_label else "subset accuracy", evaluation.accuracy),
             ("macro F1", evaluation.macro["f1"])]
    if evaluation.roc_auc is not None:
        items.append(("ROC AUC", evaluation.roc_auc))
    items += [("log-loss", evaluation.log_loss), ("ECE", evaluation.ece)]
    cards = "".join(f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{_fmt(value, 3)}'
                    "</div></div>" for label, value in items)
    return f'<div class="cards">{cards}</div>'


def _section(anchor: str, heading: str, content: str, css_class: str = "") -> str:
    classes = f' class="{css_class}"' if css_class else ""
    return f'<section id="{anchor}"{classes}>\n<h2>{_e(heading)}</h2>\n{content}\n</section>'


def _figure(fig, element_id: str, alt: str) -> str:
    data = base64.b64encode(plots.figure_to_png(fig)).decode("ascii")
    return f'<img class="figure" id="{element_id}" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], element_id: str = "",
           numeric: Sequence[bool] | None = None) -> str:
    """An HTML table; cells must already be escaped or formatted."""
    numeric = numeric or [False] * len(headers)
    head = "".join(f'<th{" class=num" if n else ""}>{_e(h)}</th>' for h, n in zip(headers, numeric))
    body = "".join("<tr>" + "".join(cell if cell.startswith("<td") else f'<td{" class=num" if n else ""}>{cell}</td>'
                                    for cell, n in zip(row, numeric)) + "</tr>" for row in rows)
    ident = f' id="{element_id}"' if element_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --- sections --------------------------------------------------------------------------------------


def _data_warnings(summary: Mapping[str, Any]) -> list[str]:
    found = imbalance_warnings(summary.get("train_counts"), split="training")
    found += imbalance_warnings(summary.get("val_counts"), split="validation")
    return found


def _warnings_section(found: list[str]) -> str:
    if not found:
        return ""
    items = "".join(f"<li>⚠ {_e(w)}</li>" for w in found)
    return _section("warnings", f"Warnings ({len(found)})", f"<ul>{items}</ul>", "warnings")


def _counts_table(summary: Mapping[str, Any]) -> str:
    train = dict(summary.get("train_counts") or {})
    val = dict(summary.get("val_counts") or {})
    weights = dict(summary.get("class_weight") or {})
    names = list(dict.fromkeys([*train, *val]))
    if not names:
        return ""
    low, high = (min(train.values()), max(train.values())) if train else (0, 0)
    imbalanced = bool(train) and (low == 0 or high / low > IMBALANCE_RATIO)
    headers, numeric = ["class", "train", "validation"], [False, True, True]
    if weights:
        headers.append("class weight")
        numeric.append(True)
    rows = []
    for index, name in enumerate(names):
        count = train.get(name)
        flag = imbalanced and count in (low, high)
        row = [_e(name), f'<td class="num flag">{count}</td>' if flag else _fmt(count), _fmt(val.get(name))]
        if weights:
            row.append(_fmt(weights.get(name, weights.get(index, weights.get(str(index)))), 3))
        rows.append(row)
    total = ["<b>total</b>", _fmt(sum(train.values())) if train else "—", _fmt(sum(val.values())) if val else "—"]
    rows.append(total + ([""] if weights else []))
    note = (f'<p class="note">Highlighted: the largest and smallest training classes (ratio above '
            f"{IMBALANCE_RATIO:g}×).</p>" if imbalanced else "")
    return "<h3>Class counts</h3>" + _table(headers, rows, "class-counts", numeric) + note


def _skipped_table(summary: Mapping[str, Any]) -> str:
    skipped = list(summary.get("skipped") or [])
    if not skipped:
        return '<p class="note">No files were skipped.</p>' if "skipped" in summary else ""
    rows = [[_e(item.get("path", "")), _e(item.get("reason", ""))] for item in skipped[:MAX_SKIPPED_ROWS]]
    more = (f'<p class="note">… and {len(skipped) - MAX_SKIPPED_ROWS} more.</p>'
            if len(skipped) > MAX_SKIPPED_ROWS else "")
    return f"<h3>Skipped files ({len(skipped)})</h3>" + _table(["path", "reason"], rows, "skipped-files") + more


def _data_section(summary: Mapping[str, Any]) -> str:
    known = {"train_counts", "val_counts", "skipped", "class_weight"}
    extra = {key: value for key, value in summary.items() if key not in known}
    parts = [_counts_table(summary), _skipped_table(summary)]
    if summary.get("class_weight") is None and "class_weight" in summary:
        parts.append('<p class="note">No class weights were used.</p>')
    if extra:
        rows = [[_e(key), f"<code>{_e(_json(value))}</code>"] for key, value in extra.items()]
        parts.append("<h3>Other details</h3>" + _table(["item", "value"], rows))
    content = "".join(part for part in parts if part)
    return _section("data-summary", "Data", content) if content else ""


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, default=str, ensure_ascii=False)


def _config_section(config: Mapping[str, Any] | None) -> str:
    if not config:
        return ""
    return _section("config", "Config", f"<pre>{_e(_json(dict(config)))}</pre>")


def _history_section(history: Any) -> str:
    if history is None:
        return ""
    stages = plots.normalize_history(history)
    if not any(stage["metrics"] for stage in stages):
        return ""
    fig = plots.plot_history(stages)
    rows = []
    for stage in stages:
        best = stage.get("best_value")
        rows.append([_e(stage["name"]), _fmt(stage["first_epoch"] + 1), _fmt(stage["epochs_run"]),
                     _fmt(len(stage.get("trainable_blocks") or [])) if "trainable_blocks" in stage else "—",
                     _e(stage.get("parameters", "all") if stage.get("trainable_blocks") else "head only"),
                     _fmt(stage["trainable_params"]) if "trainable_params" in stage else "—",
                     _fmt(best) if isinstance(best, (int, float)) else "—",
                     "yes" if stage.get("stopped_early") else "no"])
    table = _table(["stage", "first epoch", "epochs", "trainable blocks", "parameters", "trainable parameters",
                    "best monitored", "early stop"], rows, "stages-table",
                   [False, True, True, True, False, True, True, False])
    return _section("training-curves", "Training curves", _figure(fig, "training-curves-plot",
                                                                  "training curves by stage") + table)


def _metric_cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="num">—</td>'
    shade = f"rgba(31,119,180,{0.08 + 0.32 * float(value):.2f})"
    return f'<td class="num" style="background:{shade}">{value:.3f}</td>'


def _metric_label(name: str) -> str:
    labels = {"ece": "expected calibration error (15 bins)", "log_loss": "log-loss (cross-entropy)",
              "roc_auc": "ROC AUC", "samples": "samples", "accuracy": "accuracy"}
    if name in labels:
        return labels[name]
    if name.startswith("top_"):
        return name.replace("top_", "top-", 1).replace("_", " ")
    return name.replace("_f1", " F1").replace("_", " ")


def _metrics_section(evaluation: Evaluation) -> str:
    rows = [[_e(_metric_label(name)), _fmt(value)]
            for name, value in evaluation.scalars().items()]
    summary = _table(["metric", "value"], rows, "metrics-table", [False, True])
    frame = evaluation.to_dataframe()
    columns = list(frame.columns)
    per_class = []
    for name, record in frame.iterrows():
        row = [_e(name)]
        for column in columns:
            value = record[column]
            row.append(_fmt(int(value)) if column == "support" else _metric_cell(float(value)))
        per_class.append(row)
    for average in ("macro", "weighted"):
        scores = getattr(evaluation, average)
        row = [f"<b>{average} avg</b>"] + [
            _fmt(int(frame["support"].sum())) if c == "support" else
            _fmt(scores.get(c, float("nan")), 3) if c in scores else "—" for c in columns]
        per_class.append(row)
    table = _table(["class", *columns], per_class, "per-class-table", [False] + [True] * len(columns))
    note = ('<p class="note">Precision, recall and F1 are 0 (not undefined) for a class that is never predicted '
            "or never present; such classes still count in the macro average.")
    if evaluation.multi_label:
        note += f" A label is predicted when its probability is above {evaluation.threshold:g}."
    note += "</p>"
    return _section("metrics", "Metrics", "<div class=two><div>" + summary + "</div><div>" + table + note
                    + "</div></div>")


def _confusion_section(evaluation: Evaluation) -> str:
    matrix = _figure(plots.plot_confusion_matrix(evaluation), "confusion-matrix", "confusion matrix")
    pairs = evaluation.most_confused(10)
    rows = [[_e(p["true"]), _e(p["predicted"]), _fmt(p["count"]), f"{p['fraction']:.1%}"] for p in pairs]
    table = (_table(["true", "predicted", "count", "of true class"], rows, "most-confused-table",
                    [False, False, True, True]) if rows else '<p class="note">No confusions.</p>')
    bars = _figure(plots.plot_most_confused(evaluation), "most-confused", "most confused pairs") if rows else ""
    heading = "Label co-occurrence and false positives" if evaluation.multi_label else "Confusion matrix"
    content = (f'<div class="two"><div>{matrix}</div><div><h3>Most confused pairs</h3>{bars}{table}</div></div>')
    return _section("confusion", heading, content)


def _gallery_section(evaluation: Evaluation, images: np.ndarray | None) -> str:
    if images is None and evaluation.hardest_images is None:
        return ""
    fig = plots.plot_highest_loss(evaluation, images, n=12)
    note = ('<p class="note">The evaluated samples the model got most wrong (highest cross-entropy): check them '
            "for label errors, ambiguous images or a missing class.</p>")
    return _section("errors", "Highest-loss samples", note + _figure(fig, "highest-loss", "highest-loss samples"))


def _calibration_section(evaluation: Evaluation) -> str:
    fig = plots.plot_reliability(evaluation)
    what = ("every label probability against the fraction of positives" if evaluation.multi_label
            else "the top-1 confidence against the accuracy")
    note = (f'<p class="note">Expected calibration error {_fmt(evaluation.ece, 3)}: {what}, in 15 bins. '
            "Bars below the diagonal mean over-confidence.</p>")
    return _section("calibration", "Calibration", _figure(fig, "reliability-diagram", "reliability diagram") + note)


def _baselines_section(baselines: Mapping[str, Any] | None, recipes: Mapping[str, str] | None = None) -> str:
    if not baselines:
        return ""
    table = {name: dict(value) if isinstance(value, Mapping) else {"score": value}
             for name, value in baselines.items()}
    columns = list(dict.fromkeys(key for scores in table.values() for key in scores))
    columns = sorted(columns, key=lambda column: column != "accuracy")  # stable: accuracy first, rest in order
    best = {column: _best(table, column) for column in columns}
    rows = []
    for name, scores in table.items():
        row = [_e(name)]
        for column in columns:
            value = scores.get(column)
            text = _fmt(value) if isinstance(value, (int, float)) or value is None else _e(value)
            row.append(f'<td class="num best">{text}</td>' if value is not None and value == best[column] else text)
        rows.append(row)
    note = ('<p class="note">linear_probe: frozen pretrained backbone, head only; scratch: the same network from '
            "random weights. The best value of each column is in bold green.</p>")
    if recipes:
        items = "".join(f"<li><b>{_e(name)}</b>: {_e(text)}</li>" for name, text in recipes.items() if text)
        note += f'<ul class="note" id="baseline-recipes">{items}</ul>'

    return _section("baselines", "Baselines",
                    _table(["model", *columns], rows, "baselines-table", [False] + [True] * len(columns)) + note)


def _ranking_section(ranking: Mapping[str, Any] | None) -> str:
    if not ranking or not ranking.get("rows"):
        return ""
    names = list(dict.fromkeys(name for row in ranking["rows"] for name in row["scores"]))
    rows = [[_e(row["name"]), *(_fmt(row["scores"].get(name)) for name in names), _fmt(row["seconds"], 1)]
            for row in ranking["rows"]]
    note = (f'<p class="note">Scored on {ranking.get("images", "?")} {_e(ranking.get("split", "train"))} images '
            f"from frozen features; the backbone was chosen by {_e(ranking.get('trusted'))}.</p>")
    return _section("ranking", "Backbone ranking",
                    _table(["candidate", *names, "seconds"], rows, "ranking-table", [False] + [True] * (len(names) + 1))
                    + note)


def _domain_section(domain: Mapping[str, Any] | None) -> str:
    """Target accuracy of the adapted and source-only models, A-distances, and the embedding plot."""
    if not domain:
        return ""
    source = domain.get("source_validation_accuracy", {})
    target = domain.get("target_accuracy", {})
    rows = [[_e(role) + (" (kept)" if role == domain.get("kept") else ""), _fmt(source.get(role)),
             _fmt(target.get(role, {}).get("selection")), _fmt(target.get(role, {}).get("report"))]
            for role in ("source_only", "adapted")]
    table = _table(["model", "source validation accuracy", "target accuracy (selection)",
                    "target accuracy (report)"], rows, "domain-table", [False, True, True, True])
    note = (f'<p class="note">{_e(domain.get("adaptation"))} on a bottleneck over the frozen backbone; kept by '
            f'{_e(domain.get("criterion"))}. The report split was not used for the choice. {A_DISTANCE_NOTE}</p>')
    return _section("domain", "Domain adaptation", table + _shift_html(domain.get("shift", {}), note))


A_DISTANCE_NOTE = ("A-distance: 2(1 - 2 err) of a held-out domain classifier, 0 when the domains cannot be told "
                   "apart, 2 when they separate.")


def _shift_html(shifts: Mapping[str, Any], note: str) -> str:
    """The A-distance table, a note, and the PCA plot of source and target features per feature space."""
    from keras_transfer.adaptation.domain_metrics import plot_domain_embedding

    distances = _table(["features", "A-distance"], [[_e(name), _fmt(record["a_distance"])]
                                                    for name, record in shifts.items()], "a-distance-table",
                       [False, True])
    plot = _figure(plot_domain_embedding(shifts), "domain-embedding-plot", "PCA of source and target features")
    return distances + note + plot


def _evaluated_domain_section(evaluation: Evaluation | None) -> str:
    """The domain section of `evaluate(source_data=...)`: the evaluated data as the target domain."""
    domain = getattr(evaluation, "domain", None)
    if not domain:
        return ""
    table = _table(["", "value"], [["target accuracy (the evaluated data)", _fmt(domain["target_accuracy"])]],
                   "domain-table", [False, True])
    note = f'<p class="note">Source images given to evaluate(source_data=...); the evaluated data is the target. ' \
           f"{A_DISTANCE_NOTE}</p>"
    return _section("domain", "Domain shift", table + _shift_html(domain["shift"], note))


def _distillation_section(comparison: Mapping[str, Any] | None) -> str:
    """Teacher against student: accuracy, parameters, CPU latency, TFLite size, and student / teacher ratios."""
    if not comparison:
        return ""
    keys = ("accuracy", "parameters", "latency_ms_batch_1", "latency_ms_batch_32", "tflite_latency_ms_batch_1",
            "tflite_latency_ms_batch_32", "tflite_bytes")
    rows = [[_e(role)] + [_fmt(comparison.get(role, {}).get(key)) for key in keys] for role in ("teacher", "student")]
    ratios = comparison.get("ratios", {})
    rows.append(["student / teacher", "—", *[_fmt(ratios.get(name)) for name in
                                            ("parameters", "latency_batch_1", "latency_batch_32",
                                             "tflite_latency_batch_1", "tflite_latency_batch_32", "tflite_bytes")]])
    table = _table(["model", "validation accuracy", "parameters", "TF CPU ms, batch 1", "TF CPU ms, batch 32",
                    "TFLite CPU ms, batch 1", "TFLite CPU ms, batch 32", "TFLite float32 bytes"], rows,
                   "distillation-table", [False] + [True] * len(keys))
    kept = comparison.get("student", {}).get("kept")
    note = (f'<p class="note">Both timed at the student\'s input size. Student kept: {_e(kept)} (the labels-only '
            "student is kept when it scores the higher validation accuracy).</p>")
    return _section("distillation", "Teacher and student", table + note)


def _best(table: Mapping[str, Mapping[str, Any]], column: str) -> float | None:
    values = [v for scores in table.values() if isinstance(v := scores.get(column), (int, float))
              and not (isinstance(v, float) and math.isnan(v))]
    if len(values) < 2:
        return None
    return max(values) if higher_is_better(column) else min(values)
