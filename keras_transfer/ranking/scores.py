"""Transferability scores for ranking backbones from frozen features, and their registry.

Every score is a pure function of numpy arrays (no Keras): higher is better.
`SCORES` maps each score's name to a `ScoreSpec` saying what it needs as input
(the backbone's features, or a source head's class probabilities) and, in one
line, what it measures and when to trust it, for the ranking table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ._hscore import hscore
from ._leep import leep, nleep
from ._logme import logme
from ._probes import knn_accuracy, linear_probe_accuracy

__all__ = [
    "SCORES", "ScoreSpec", "hscore", "knn_accuracy", "leep", "linear_probe_accuracy", "logme", "nleep", "score_names",
]

ScoreInput = Literal["features", "source_probabilities"]


@dataclass(frozen=True)
class ScoreSpec:
    """One transferability score: its function, its input and what it tells.

    Attributes:
        name: the registry key (also the column name in a ranking table).
        function: `function(inputs, labels) -> float`, higher is better.
        needs: "features" (`(N, D)` frozen features) or "source_probabilities"
            (`(N, Z)` softmax outputs of the backbone's own source classifier head).
        description: one line: what it measures and when to trust it.
        cost: "fast" (closed form or one small fit) or "slow" (cross-validated training).
    """

    name: str
    function: Callable[..., float]
    needs: ScoreInput
    description: str
    cost: Literal["fast", "slow"] = "fast"
    higher_is_better: bool = True


SCORES: dict[str, ScoreSpec] = {
    spec.name: spec
    for spec in (
        ScoreSpec(
            "logme", logme, "features",
            "Evidence of a Bayesian linear head on the features; with NLEEP the most reliable ranker in the "
            "literature, fast and parameter-free.",
        ),
        ScoreSpec(
            "nleep", nleep, "features",
            "LEEP on a Gaussian mixture over PCA-reduced features (no source head needed); among the best rankers, "
            "but depends on the mixture's seed and is slower on large sets.",
        ),
        ScoreSpec(
            "hscore", hscore, "features",
            "Between-class over total feature variance (Ledoit-Wolf regularised); the unregularised H-score is "
            "unstable when D is large next to N.",
        ),
        ScoreSpec(
            "leep", leep, "source_probabilities",
            "How well the source head's class probabilities predict the target labels; needs the backbone's "
            "original classifier head, and ignores what the features hold beyond it.",
        ),
        ScoreSpec(
            "knn", knn_accuracy, "features",
            "Cross-validated kNN accuracy (cosine, standardised); a direct but slow estimate of head-only "
            "accuracy, pessimistic when classes are not compact clusters.",
            cost="slow",
        ),
        ScoreSpec(
            "linear_probe", linear_probe_accuracy, "features",
            "Cross-validated logistic-regression accuracy; the most direct estimate of head-only (frozen) "
            "accuracy, but slow and says little about what fine-tuning adds.",
            cost="slow",
        ),
    )
}


def score_names(needs: ScoreInput | None = None) -> list[str]:
    """The registered score names, optionally only those taking `needs` as input.

    Args:
        needs: "features", "source_probabilities", or None for all.

    Returns:
        The names, in registry order.

    Example:
        >>> score_names("source_probabilities")
        ['leep']
    """
    if needs not in (None, "features", "source_probabilities"):
        raise ValueError(f"needs must be 'features', 'source_probabilities' or None, got {needs!r}.")
    return [name for name, spec in SCORES.items() if needs is None or spec.needs == needs]
