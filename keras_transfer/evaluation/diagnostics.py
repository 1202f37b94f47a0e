"""Diagnostics: plain-English warnings about a run, for the summary, the logs and the report.

`transfer_warnings` flags negative transfer: a fine-tuned model that scores
below a baseline (a linear probe, the same network from scratch), or an
unfrozen stage that ends worse than the head-only stage before it.
`imbalance_warnings` flags a class imbalance above `IMBALANCE_RATIO`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

IMBALANCE_RATIO = 3.0
_BASELINE_ADVICE = {
    "linear_probe": (
        "a frozen backbone with only the head trained. Unfreezing hurt: lower the fine-tuning learning "
        "rate, unfreeze fewer blocks, or keep the head-only weights."
    ),
    "scratch": (
        "the same network trained from random weights. The pretrained features do not suit this data "
        "(a domain far from ImageNet?): try another backbone, longer fine-tuning, or training from scratch."
    ),
}
_SELF_NAMES = {"fine_tuned", "fine-tuned", "finetuned", "final"}


def _baseline_score(value: Any, metric: str) -> float | None:
    if isinstance(value, dict):
        value = value.get(metric)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def transfer_warnings(
    fine_tuned_score: float | None,
    baselines: dict[str, Any] | None,
    stage_scores: Sequence[tuple[str, float | None]] | None = None,
    *,
    metric: str = "accuracy",
    higher_is_better: bool = True,
    tolerance: float = 0.0,
) -> list[str]:
    """Warnings for negative transfer: fine-tuning that scores below a baseline or below its head-only stage.

    Args:
        fine_tuned_score: the final model's validation score on `metric`.
        baselines: `{name: score}` or `{name: {metric: score, ...}}`, e.g.
            `linear_probe` (frozen backbone, head only) and `scratch` (random
            init). An entry named `fine_tuned` is the model itself and is skipped.
        stage_scores: `[(stage_name, best score), ...]` in run order; the
            first entry is taken as the head-only (frozen backbone) stage and
            every later, unfrozen stage is compared with it.
        metric: the metric's name, for the messages and to pick it from dict baselines.
        higher_is_better: False for losses.
        tolerance: differences up to this much are not reported (noise).

    Returns:
        One plain-English sentence per problem found; empty when there is none.
        Missing (None/NaN) scores are skipped.

    Example:
        >>> for line in transfer_warnings(0.81, {"linear_probe": 0.85}, [("head", 0.84), ("all", 0.81)]):
        ...     print(line)
        Negative transfer: the fine-tuned model's accuracy (0.8100) is below the linear_probe baseline's (0.8500), ...
        Stage 'all' (backbone unfrozen) reached accuracy 0.8100, worse than the head-only stage 'head' (0.8400): ...
    """
    sign = 1.0 if higher_is_better else -1.0

    def worse(score: float, reference: float) -> bool:
        return sign * (reference - score) > tolerance

    found = []
    if fine_tuned_score is not None and not math.isnan(fine_tuned_score):
        for name, value in (baselines or {}).items():
            reference = _baseline_score(value, metric)
            if name in _SELF_NAMES or reference is None or not worse(fine_tuned_score, reference):
                continue
            advice = _BASELINE_ADVICE.get(name, "fine-tuning did not beat it; check the learning rates and stages.")
            found.append(
                f"Negative transfer: the fine-tuned model's {metric} ({fine_tuned_score:.4f}) is "
                f"{'below' if higher_is_better else 'worse than'} the {name} baseline's ({reference:.4f}), "
                f"{advice}"
            )
    found.extend(_stage_warnings(list(stage_scores or []), metric, worse))
    return found


def _stage_warnings(stage_scores: list, metric: str, worse) -> list[str]:
    if len(stage_scores) < 2 or stage_scores[0][1] is None:
        return []
    head_name, head = stage_scores[0][0], float(stage_scores[0][1])
    found = []
    for name, score in stage_scores[1:]:
        if score is None or math.isnan(float(score)) or not worse(float(score), head):
            continue
        found.append(
            f"Stage '{name}' (backbone unfrozen) reached {metric} {float(score):.4f}, worse than the head-only "
            f"stage '{head_name}' ({head:.4f}): unfreezing hurt. Lower its learning rate or unfreeze fewer "
            "blocks; the head-only weights are the better ones."
        )
    return found


def imbalance_warnings(
    counts: dict[str, int] | None, *, ratio: float = IMBALANCE_RATIO, split: str = "training"
) -> list[str]:
    """A warning when the largest class has more than `ratio` times the samples of the smallest.

    Args:
        counts: `{class_name: number of samples}`.
        ratio: the max/min ratio above which to warn.
        split: the data's name in the message.

    Returns:
        A list with one sentence, or empty when the classes are balanced enough.

    Example:
        >>> imbalance_warnings({"cat": 90, "dog": 10})
        ["Class imbalance in the training data: 'cat' has 90 samples, 'dog' only 10 (9.0×, above 3×). ..."]
    """
    if not counts or len(counts) < 2:
        return []
    largest = max(counts, key=lambda name: counts[name])
    smallest = min(counts, key=lambda name: counts[name])
    high, low = counts[largest], counts[smallest]
    if low > 0 and high / low <= ratio:
        return []
    times = f"{high / low:.1f}×, above {ratio:g}×" if low else "no samples at all"
    message = (
        f"Class imbalance in the {split} data: '{largest}' has {high} samples, '{smallest}' only {low} "
        f"({times}). Accuracy flatters the large classes: read the per-class recall and macro F1, and "
        "consider class weights or more data for the small classes."
    )
    return [message]
