"""`rank_backbones`: score candidate backbones on a task from their frozen features, before fine-tuning any.

Each candidate's features are extracted once, at its own input size, from
the training images (or training + validation), and scored by every
transferability estimator asked for (`keras_transfer.ranking.SCORES`). LEEP
also needs the candidate's source classifier (its ImageNet head, say): it is
scored for candidates that have one.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from keras_transfer.log import Log

DEFAULT_SCORES = ("logme", "nleep", "hscore", "leep", "knn", "linear_probe")
# The score a ranking trusts (recommends by) unless told otherwise, and why.
TRUSTED_SCORE = "logme"
TRUSTED_WHY = ("LogME is the evidence of a Bayesian linear model on the features: no hyper-parameter, robust "
               "on small data, and among the best-correlated with fine-tuned accuracy in the literature (You et al. "
               "2021) and in benchmarks/RESULTS.md; the direct estimates (kNN, linear probe) predict head-only "
               "accuracy best but cost more")
# Scores `build_and_fit(backbone="auto")` computes beside the one it ranks by: LogME and kNN, the best-correlated
# and cheapest (0.1 s a candidate on features it has anyway). H-score is left out: its mean Kendall tau was -0.11
# in the three-seed ranking benchmark and its shrinkage covariance costs ~1 s a candidate (RESULTS.md (f)).
AUTO_SCORES = ("logme", "knn")


def auto_scores(rank_by: str = TRUSTED_SCORE) -> tuple[str, ...]:
    """The scores `build_and_fit(backbone="auto", rank_by=...)` computes: `rank_by` first, then `AUTO_SCORES`.

    Example:
        >>> auto_scores("nleep")
        ('nleep', 'logme', 'knn')
    """
    return tuple(dict.fromkeys([rank_by, *AUTO_SCORES]))


@dataclass
class Candidate:
    """One backbone to rank.

    Attributes:
        backbone: a registry name, a `BackboneSpec` or a `keras.Model`.
        weights: `"imagenet"`, a weights file, or None (random initialisation: a control).
        label: how the table names it (default: `backbone:weights`).
        image_size: its input size (default: the ranking's, else the backbone's default).
        source_classifier: a model from RGB pixels (0-255) to source-class probabilities, for LEEP
            (default: the backbone's ImageNet classifier when `weights="imagenet"` and it can be built).
    """

    backbone: Any
    weights: str | None = "imagenet"
    label: str | None = None
    image_size: int | tuple[int, int] | None = None
    source_classifier: keras.Model | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        backbone = self.backbone if isinstance(self.backbone, str) else getattr(self.backbone, "name", "custom")
        weights = "random" if self.weights is None else ("imagenet" if self.weights == "imagenet" else "file")
        return f"{backbone}:{weights}"

    def to_dict(self) -> dict[str, Any]:
        """As the config records it (a custom backbone by its name)."""
        backbone = self.backbone
        if not isinstance(backbone, str):
            backbone = f"<custom:{getattr(backbone, 'name', '?')}>"
        return {"backbone": backbone, "weights": self.weights, "label": self.name,
                "image_size": list(self.image_size) if isinstance(self.image_size, tuple) else self.image_size}


def as_candidate(value: Any) -> Candidate:
    """A `Candidate` from `(name, weights)`, `{"backbone": ..., "weights": ...}`, a spec, a model or a name."""
    if isinstance(value, Candidate):
        return value
    if isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= 3:
            raise ValueError(f"A candidate is (backbone, weights[, label]), got {value!r}.")
        return Candidate(*value)
    if isinstance(value, dict):
        return Candidate(**value)
    return Candidate(value, weights="imagenet" if isinstance(value, str) else "given")


@dataclass
class RankingRow:
    """One candidate's scores and cost.

    Attributes:
        name: the candidate's label.
        scores: each estimator's value (None where it cannot score this candidate).
        seconds: the candidate's whole wall time (building it, extracting features, every score).
        image_size: the input size it was scored at.
        feature_dim: the width of its pooled features.
        notes: why a score is missing.
        cost: wall seconds per step: `"features"` (building the network and extracting the features, which
            every score shares) and one entry per score.
    """

    name: str
    scores: dict[str, float | None]
    seconds: float
    image_size: tuple[int, int]
    feature_dim: int
    notes: list[str] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)

    def seconds_for(self, scores: Sequence[str]) -> float:
        """What ranking this candidate by `scores` alone costs: the shared features plus those scores.

        Example:
            >>> row.seconds_for(["logme"])  # the trusted score's cost, features included
        """
        return self.cost.get("features", 0.0) + sum(self.cost.get(score, 0.0) for score in scores)


@dataclass
class RankingTable:
    """What `rank_backbones` returns: a score per candidate and estimator, ranks, seconds, and which to trust.

    Attributes:
        rows: one `RankingRow` per candidate, in the order given.
        trusted: the score the ranking recommends by.
        why: why that score.
        split: which images were scored (`"train"` or `"train+validation"`).
        images: how many.
        candidates: the candidates, in the order given.
    """

    rows: list[RankingRow]
    trusted: str = TRUSTED_SCORE
    why: str = TRUSTED_WHY
    split: str = "train"
    images: int = 0
    candidates: list[Candidate] = field(default_factory=list, repr=False)

    def best_candidate(self, score: str | None = None) -> Candidate:
        """The top `Candidate` by `score` (default: the trusted one)."""
        name = self.best(score)
        return next(candidate for candidate in self.candidates if candidate.name == name)

    @property
    def score_names(self) -> list[str]:
        return list(dict.fromkeys(name for row in self.rows for name in row.scores))

    def ranks(self, score: str | None = None) -> dict[str, int]:
        """`{candidate: rank}` by a score (1 = best; candidates it cannot score are left out)."""
        score = score or self.trusted
        scored = [(row.name, row.scores.get(score)) for row in self.rows if row.scores.get(score) is not None]
        ordered = sorted(scored, key=lambda pair: -pair[1])
        return {name: position for position, (name, _) in enumerate(ordered, start=1)}

    def best(self, score: str | None = None) -> str:
        """The top candidate's name by `score` (default: the trusted one)."""
        ranks = self.ranks(score)
        if not ranks:
            raise ValueError(f"No candidate could be scored by {score or self.trusted!r}.")
        return min(ranks, key=ranks.get)

    def to_dataframe(self):
        """A pandas DataFrame: a row per candidate, a column per score and per score's rank, seconds.

        Example:
            >>> table.to_dataframe().sort_values("logme_rank")
        """
        import pandas as pd

        records = []
        for row in self.rows:
            record = {"candidate": row.name, "image_size": f"{row.image_size[0]}x{row.image_size[1]}",
                      "feature_dim": row.feature_dim}
            for score in self.score_names:
                record[score] = row.scores.get(score)
                record[f"{score}_rank"] = self.ranks(score).get(row.name)
            record["seconds"] = row.seconds
            records.append(record)
        return pd.DataFrame.from_records(records).set_index("candidate")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: rows, trusted score, split (what the config and report record)."""
        return {"trusted": self.trusted, "split": self.split, "images": self.images,
                "rows": [{"name": row.name, "scores": row.scores, "seconds": row.seconds,
                          "image_size": list(row.image_size), "feature_dim": row.feature_dim, "notes": row.notes,
                          "cost": row.cost}
                         for row in self.rows]}

    def __repr__(self) -> str:
        names = self.score_names
        width = max(len(row.name) for row in self.rows) if self.rows else 9
        header = f"{'candidate':<{width}}  " + "  ".join(f"{name:>12}" for name in names) + f"  {'seconds':>8}"
        lines = [f"Backbone ranking on {self.images} {self.split} images (trust {self.trusted}: {self.why}).",
                 header]
        trusted_ranks = self.ranks()
        for row in sorted(self.rows, key=lambda row: trusted_ranks.get(row.name, len(self.rows) + 1)):
            cells = "  ".join(f"{row.scores[name]:>12.4f}" if row.scores.get(name) is not None else f"{'-':>12}"
                              for name in names)
            lines.append(f"{row.name:<{width}}  {cells}  {row.seconds:>8.1f}")
        return "\n".join(lines)

    def plot(self, path=None):
        """A bar chart per score of each candidate's rank (1 = best); saved to `path` when given.

        Returns:
            The matplotlib Figure.
        """
        import matplotlib

        from keras_transfer.evaluation.plots import save_figure

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = self.score_names
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(self.rows) * len(names) / 3), 4))
        positions = np.arange(len(self.rows))
        bar = 0.8 / max(1, len(names))
        for index, score in enumerate(names):
            ranks = self.ranks(score)
            heights = [len(self.rows) + 1 - ranks[row.name] if row.name in ranks else 0 for row in self.rows]
            ax.bar(positions + index * bar, heights, bar, label=score)
        ax.set_xticks(positions + bar * (len(names) - 1) / 2, [row.name for row in self.rows], rotation=20,
                      ha="right")
        ax.set_ylabel("rank (taller = better)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


def rank_backbones(
    data,
    candidates: Sequence[Any],
    *,
    scores: Sequence[str] = DEFAULT_SCORES,
    image_size: int | tuple[int, int] | None = None,
    split: str = "train",
    validation_data=None,
    validation_split: float = 0.2,
    class_names: Sequence[str] | None = None,
    batch_size: int = 32,
    seed: int = 0,
    trusted: str = TRUSTED_SCORE,
    verbose: int = 1,
) -> RankingTable:
    """Scores each candidate backbone on `data` from its frozen features, without fine-tuning any.

    Args:
        data: any source `build_and_fit` takes.
        candidates: `(registry name, weights)` pairs (`("mobilenet", "imagenet")`, `("vgg16", PATH)`,
            `("mobilenet", None)` for a random control), `Candidate`s, `BackboneSpec`s or models.
        scores: estimators to compute (see `keras_transfer.ranking.SCORES`).
        image_size: one size for every candidate (each is raised to its backbone's minimum); default: each
            backbone's own default size.
        split: `"train"` (the training split only, as the fine-tuning will see it) or `"train+validation"`.
        validation_data, validation_split, class_names: as for `build_and_fit` (the split is the same).
        batch_size: images per forward pass.
        seed: seeds the split and the estimators.
        trusted: the score `best()` and `build_and_fit(backbone="auto")` use.
        verbose: 1 prints a line per candidate.

    Returns:
        A `RankingTable`.

    Example:
        >>> table = keras_transfer.rank_backbones("photos/", [("mobilenet", "imagenet"), ("vgg16", vgg16_hed_weights()),
        ...                                                  ("mobilenet", None)])
        >>> print(table); table.best()
    """
    from keras_transfer.data.sources import load_data

    if split not in ("train", "train+validation"):
        raise ValueError(f"split must be 'train' or 'train+validation', got {split!r}.")
    train_spec, _ = load_data(data, validation_data=validation_data,
                              validation_split=validation_split if split == "train" else 0.0, seed=seed,
                              class_names=class_names)
    table = rank_spec(train_spec, candidates, scores=scores, image_size=image_size, batch_size=batch_size, seed=seed,
                      trusted=trusted, log=Log(verbose))
    table.split = split
    return table


def rank_spec(train_spec, candidates: Sequence[Any], *, scores: Sequence[str] = DEFAULT_SCORES,
              image_size: int | tuple[int, int] | None = None, batch_size: int = 32, seed: int = 0,
              trusted: str = TRUSTED_SCORE, log: Log | None = None) -> RankingTable:
    """`rank_backbones` on data already loaded (what `build_and_fit(backbone="auto")` calls).

    Args:
        train_spec: the labelled images (`DataSpec`).
        candidates, scores, image_size, batch_size, seed, trusted: as for `rank_backbones`.
        log: where progress goes (default: silent).

    Returns:
        A `RankingTable`.
    """
    from keras_transfer.data.pipeline import decoded_images
    from keras_transfer.ranking import SCORES

    unknown = sorted(set(scores) - set(SCORES))
    if unknown:
        raise ValueError(f"Unknown score(s) {unknown}: choose from {sorted(SCORES)}.")
    if trusted not in scores:
        raise ValueError(f"The trusted score {trusted!r} must be one of the scores computed ({list(scores)}).")
    if train_spec.multi_label:
        raise ValueError("Ranking scores single-label data: the estimators need one class per image.")
    candidates = [as_candidate(candidate) for candidate in candidates]
    if not candidates:
        raise ValueError("Give at least one candidate: e.g. [('mobilenet', 'imagenet'), ('vgg16', None)].")
    log = log or Log(0)
    caches: dict[tuple[int, int], Any] = {}
    rows = []
    for candidate in candidates:
        size = candidate_size(candidate, image_size)
        if size not in caches:
            caches[size] = decoded_images(train_spec, size)
        rows.append(score_candidate(candidate, train_spec, size, caches[size], scores, batch_size, seed))
        log.info(f"Ranked {rows[-1].name}: " + ", ".join(
            f"{name} {value:.4f}" for name, value in rows[-1].scores.items() if value is not None)
            + f" ({rows[-1].seconds:.1f} s)")
    return RankingTable(rows=rows, trusted=trusted, images=len(train_spec), candidates=candidates)


def candidate_size(candidate: Candidate, image_size) -> tuple[int, int]:
    """The input size a candidate is scored at: its own, the ranking's, else its backbone's default."""
    from keras_transfer.models.backbones import resolve_backbone, size_pair

    spec = resolve_backbone(candidate.backbone)
    height, width = size_pair(candidate.image_size or image_size or spec.default_size)
    return max(height, spec.min_size), max(width, spec.min_size)


def score_candidate(candidate: Candidate, train_spec, size: tuple[int, int], decoded, scores: Sequence[str],
                    batch_size: int, seed: int) -> RankingRow:
    """Extracts one candidate's features once and computes every score on them."""
    from keras_transfer.models.classifier import build_model
    from keras_transfer.train.feature_cache import extract_features

    started = time.perf_counter()
    model = build_model(candidate.backbone, train_spec.num_classes, weights=candidate.weights, image_size=size)
    features, labels = extract_features(model, train_spec, size, batch_size, decoded=decoded)
    classes = labels.argmax(axis=1) if labels.shape[1] > 1 else (labels[:, 0] > 0.5).astype(int)
    results: dict[str, float | None] = {}
    notes = []
    cost = {"features": time.perf_counter() - started}
    for name in scores:
        step = time.perf_counter()
        results[name], why = score_one(name, candidate, features, classes, train_spec, batch_size, seed)
        cost[name] = time.perf_counter() - step
        if why:
            notes.append(why)
    return RankingRow(name=candidate.name, scores=results, seconds=time.perf_counter() - started,
                      image_size=size, feature_dim=int(features.shape[1]), notes=notes, cost=cost)


def score_one(name: str, candidate: Candidate, features: np.ndarray, classes: np.ndarray, train_spec,
              batch_size: int, seed: int) -> tuple[float | None, str]:
    """One estimator's value on a candidate's features (LEEP: on its source classifier), and why it is missing."""
    from keras_transfer.ranking import SCORES, leep

    if name == "leep":
        probabilities, why = source_probabilities(candidate, train_spec, batch_size)
        return (leep(probabilities, classes) if probabilities is not None else None), why
    function = SCORES[name].function
    kwargs = {"seed": seed} if "seed" in inspect.signature(function).parameters else {}
    return float(function(features, classes, **kwargs)), ""


def source_probabilities(candidate: Candidate, train_spec, batch_size: int) -> tuple[np.ndarray | None, str]:
    """The candidate's source-classifier probabilities on the training images, or None and why."""
    from keras_transfer.data.pipeline import make_dataset
    from keras_transfer.models.backbones import resolve_backbone

    classifier = candidate.source_classifier
    if classifier is None:
        if candidate.weights != "imagenet" or not isinstance(candidate.backbone, str):
            return None, "LEEP: no source classifier (give Candidate(source_classifier=...) or ImageNet weights)"
        spec = resolve_backbone(candidate.backbone)
        try:
            classifier = imagenet_classifier(spec)
        except Exception as error:  # no ImageNet head offline, or an architecture without one
            return None, f"LEEP: the ImageNet classifier could not be built ({type(error).__name__}: {error})"
    height, width = classifier.input_shape[1:3]
    dataset = make_dataset(train_spec, (height, width), batch_size, cache=False)
    probabilities = np.concatenate([np.asarray(classifier(images, training=False)) for images, _ in dataset])
    return probabilities, ""


def imagenet_classifier(spec, weights: str = "imagenet") -> keras.Model:
    """The backbone with its ImageNet head, its preprocessing baked in: RGB 0-255 in, 1000 probabilities out.

    Args:
        spec: the backbone's `BackboneSpec` (`get_backbone("mobilenet")`).
        weights: `"imagenet"` (Keras' file) or a with-top weights file (e.g. `mobilenet_v1_imagenet_weights(True)`).

    Returns:
        The classifier, at the backbone's default size: a `Candidate.source_classifier` for LEEP.

    Example:
        >>> head = imagenet_classifier(get_backbone("mobilenet"), str(mobilenet_v1_imagenet_weights(include_top=True)))
    """
    size = spec.default_size
    inputs = keras.Input((size, size, 3))
    network = spec.constructor(include_top=True, weights=weights, input_shape=(size, size, 3))
    outputs = network(spec.preprocessing_layer()(inputs))
    return keras.Model(inputs, outputs, name=f"{spec.model_name}_imagenet")
