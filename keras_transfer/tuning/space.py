"""The search space over the transfer recipe, and how one point of it becomes a `FitConfig`.

Each parameter is a KerasTuner hyper-parameter declared on a
`keras_tuner.HyperParameters` (duck-typed here: this module does not import
KerasTuner), and `SearchSpace.fit_config(hp, ...)` maps the chosen values onto
`build_and_fit` options: a trial *is* a `FitConfig`.

A user's `space=` dict changes the defaults, by parameter name:

    (low, high)              a range (log-scaled for learning rates; ints stay ints); in JSON {"low": a, "high": b}
    [a, b, c]                a choice
    a single value           fixed (recorded, not searched)
    None                     not searched: the recipe's default (or the fixed option) applies

Each parameter's default value is the default recipe's (`recipe_defaults()`: the
default plan's learning rates, its top third of the blocks and its last stage on
every block, `FitConfig`'s dropout, label smoothing and augmentation) when the
parameter's range or choice holds it, so the oracle's first trial, drawn from the
defaults, is the default recipe: the point the search has to beat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keras_transfer.recipes.config import FitConfig
from keras_transfer.train.stages import Stage, default_stages

# Augmentation strengths the `augmentation` parameter chooses between (ImageDataGenerator-style options).
AUGMENTATION_STRENGTHS: dict[str, Any] = {
    "none": None,
    "light": {"horizontal_flip": True, "width_shift_range": 0.05, "height_shift_range": 0.05},
    "default": "default",
    "strong": {"rotation_range": 20, "width_shift_range": 0.2, "height_shift_range": 0.2, "zoom_range": 0.2,
               "horizontal_flip": True, "fill_mode": "reflect"},
}
NO_PEFT = "none"

# Every parameter the space knows: its default range or choice (None: known, not searched by default).
KNOWN_PARAMETERS: dict[str, Any] = {
    "backbone": None,
    "image_size": None,
    "head_learning_rate": (1e-4, 1e-2),
    "backbone_learning_rate": (1e-5, 1e-3),
    "unfreeze_blocks": [0.0, 0.2, 1 / 3, 0.6, 1.0],
    "fine_tune_all": [True, False],
    "dropout": (0.0, 0.5),
    "label_smoothing": [0.0, 0.1, 0.2],
    "augmentation": ["none", "light", "default", "strong"],
    "peft": None,
    "batch_size": None,
}
# The build_and_fit option each parameter sets: a fixed option of that name takes it out of the default space.
OPTION_OF = {"head_learning_rate": "stages", "backbone_learning_rate": "stages", "unfreeze_blocks": "stages",
             "fine_tune_all": "stages", "peft": "peft"}
STEPS = {"dropout": 0.1}


def recipe_defaults() -> dict[str, Any]:
    """Each parameter's value in the default recipe (`default_stages(pretrained=True)` and `FitConfig`'s defaults).

    Returns:
        `{parameter name: value}`; parameters without one (backbone, image size, batch size) are absent.

    Example:
        >>> recipe_defaults()["unfreeze_blocks"]
        0.3333333333333333
    """
    head, top, last = default_stages(pretrained=True)
    config = FitConfig.from_arguments(data="defaults")
    return {"head_learning_rate": head.learning_rate, "backbone_learning_rate": top.learning_rate,
            "unfreeze_blocks": top.train_blocks, "fine_tune_all": last.train_blocks == "all",
            "dropout": config.model.dropout, "label_smoothing": config.training.label_smoothing,
            "augmentation": next(name for name, value in AUGMENTATION_STRENGTHS.items()
                                 if value == config.data.augmentation), "peft": NO_PEFT}


# The default plan's last stage trains every block at the top-blocks rate divided by this (1e-4 -> 2e-5).
def _final_stage_divisor() -> float:
    _, top, last = default_stages(pretrained=True)
    return round(top.learning_rate / last.learning_rate, 6)


FINAL_STAGE_DIVISOR = _final_stage_divisor()


@dataclass(frozen=True)
class Parameter:
    """One searched (or fixed) parameter: its name and its values.

    Attributes:
        name: the parameter's name (`KNOWN_PARAMETERS`).
        values: `(low, high)` for a range, a tuple of choices, or one value (fixed).
        kind: "range", "choice" or "fixed".
    """

    name: str
    values: Any
    kind: str

    @classmethod
    def parse(cls, name: str, spec: Any) -> Parameter:
        """A parameter from its `space=` entry; bad entries raise with the accepted forms."""
        if isinstance(spec, Mapping):  # the JSON form of a range: {"low": a, "high": b}
            if set(spec) != {"low", "high"}:
                raise ValueError(f"space[{name!r}]: a range in JSON is {{'low': a, 'high': b}}, got {dict(spec)!r}.")
            spec = (spec["low"], spec["high"])
        if isinstance(spec, tuple):
            if len(spec) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec) or (
                    spec[0] >= spec[1]):
                raise ValueError(f"space[{name!r}]: a range is (low, high) numbers with low < high, got {spec!r}; "
                                 "give a list for a choice.")
            return cls(name, spec, "range")
        if isinstance(spec, list):
            if not spec:
                raise ValueError(f"space[{name!r}] is an empty choice: give at least one value, or None to not "
                                 "search it.")
            values = tuple(NO_PEFT if (name == "peft" and v is None) else v for v in spec)
            if len({type(v) for v in values}) > 1:
                raise ValueError(f"space[{name!r}]: a choice's values must share one type (KerasTuner's rule), got "
                                 f"{list(values)!r}.")
            return cls(name, values, "choice" if len(values) > 1 else "fixed")
        return cls(name, (spec,), "fixed")

    def default(self, defaults: Mapping[str, Any]) -> Any:
        """The default recipe's value (from `defaults`, `recipe_defaults()`) when this range or choice holds it,
        else None (KerasTuner's own default)."""
        value = defaults.get(self.name)
        if value is None or self.kind == "fixed":
            return None
        if self.kind == "range":
            low, high = self.values
            if isinstance(low, int) and isinstance(high, int) and not isinstance(value, int):
                return None
            return value if isinstance(value, (int, float)) and low <= value <= high else None
        return value if value in self.values and type(value) is type(self.values[0]) else None

    def declare(self, hp, defaults: Mapping[str, Any]) -> Any:
        """Declares the parameter on a `keras_tuner.HyperParameters` with its default from `defaults`
        (`recipe_defaults()`); returns its current value."""
        default = self.default(defaults)
        if self.kind == "range":
            low, high = self.values
            if isinstance(low, int) and isinstance(high, int):
                return hp.Int(self.name, low, high, default=default)
            sampling = "log" if self.name.endswith("learning_rate") else "linear"
            return hp.Float(self.name, float(low), float(high), step=STEPS.get(self.name), sampling=sampling,
                            default=default)
        if self.kind == "choice" and set(self.values) == {True, False} and all(
                isinstance(value, bool) for value in self.values):
            return hp.Boolean(self.name, default=bool(default))
        if self.kind == "choice":
            return hp.Choice(self.name, list(self.values), default=default)
        return hp.Fixed(self.name, self.values[0])


class SearchSpace:
    """The parameters a search varies, and the mapping of their values onto a `FitConfig`.

    Args:
        space: changes to the default space by parameter name (see the module doc); None for the defaults.
        fixed: the `build_and_fit` options held constant: an option given here is not searched by default,
            and naming it in `space` too raises.
        candidates: `{backbone name: weights}` for a searched `backbone` (from the ranking's top k, or given).

    Example:
        >>> space = SearchSpace({"dropout": [0.0, 0.3], "augmentation": None}, fixed={"backbone": "mobilenet"})
        >>> space.names
        ['head_learning_rate', 'backbone_learning_rate', 'unfreeze_blocks', 'dropout', 'label_smoothing']
    """

    def __init__(self, space: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None,
                 candidates: Mapping[str, Any] | None = None):
        space = dict(space or {})
        fixed = dict(fixed or {})
        unknown = sorted(set(space) - set(KNOWN_PARAMETERS))
        if unknown:
            raise ValueError(f"Unknown search parameter(s) {unknown}: the space knows {list(KNOWN_PARAMETERS)} "
                             "(hold other build_and_fit options constant as keyword arguments).")
        clashes = sorted(name for name, spec in space.items()
                         if spec is not None and OPTION_OF.get(name, name) in fixed)
        if clashes:
            raise ValueError(f"{clashes} are both searched (space=) and held fixed ({sorted(fixed)}): drop one.")
        self.candidates = dict(candidates or {})
        chosen = {name: default for name, default in KNOWN_PARAMETERS.items()
                  if default is not None and OPTION_OF.get(name, name) not in fixed}
        if self.candidates and "backbone" not in space:
            chosen["backbone"] = list(self.candidates)
        chosen.update(space)
        self.parameters = [Parameter.parse(name, chosen[name]) for name in KNOWN_PARAMETERS
                           if chosen.get(name) is not None]
        self.check_values()

    @property
    def names(self) -> list[str]:
        """The parameters' names, in declaration order."""
        return [parameter.name for parameter in self.parameters]

    def check_values(self) -> None:
        """Refuses values the recipe cannot run, before any trial does."""
        for parameter in self.parameters:
            values = parameter.values if parameter.kind != "range" else ()
            if parameter.name == "augmentation":
                bad = [v for v in values if v not in AUGMENTATION_STRENGTHS]
                if bad:
                    raise ValueError(f"space['augmentation'] values {bad} are unknown: choose from "
                                     f"{list(AUGMENTATION_STRENGTHS)}.")
            if parameter.name == "peft":
                bad = [v for v in values if v not in (NO_PEFT, "lora", "bias", "norm")]
                if bad:
                    raise ValueError(f"space['peft'] values {bad} are unknown: choose from none, lora, bias, norm.")

    def declare(self, hp) -> dict[str, Any]:
        """Declares every parameter on `hp`; returns `{name: value}` as `hp` holds them now."""
        defaults = recipe_defaults()
        return {parameter.name: parameter.declare(hp, defaults) for parameter in self.parameters}

    def fit_config(self, hp, fixed: Mapping[str, Any], epochs: int | None = None) -> FitConfig:
        """The `FitConfig` of one trial: the fixed options plus the trial's values.

        Args:
            hp: the trial's `keras_tuner.HyperParameters` (or any object `declare` can read).
            fixed: the `build_and_fit` options held constant (data included).
            epochs: the most epochs per stage (Hyperband's `tuner/epochs`), or None for the fixed/default one.

        Returns:
            A `FitConfig` that `keras_transfer.recipes.build_and_fit.fit_config` runs.

        Example:
            >>> config = space.fit_config(trial.hyperparameters, {"data": "photos/", "backbone": "mobilenet"}, 3)
        """
        values = self.declare(hp)
        options = dict(fixed)
        if epochs is not None:
            options["epochs"] = epochs
        if "backbone" in values:
            options["backbone"] = values["backbone"]
            if values["backbone"] in self.candidates:
                options["weights"] = self.candidates[values["backbone"]]
        for name in ("image_size", "dropout", "label_smoothing", "batch_size"):
            if name in values:
                options[name] = values[name]
        if "dropout" in options:
            options["dropout"] = round(float(options["dropout"]), 4)
        if "augmentation" in values:
            options["augmentation"] = AUGMENTATION_STRENGTHS[values["augmentation"]]
        peft = values.get("peft", NO_PEFT)
        if peft != NO_PEFT:
            options["peft"] = peft
        if any(name in values for name in ("head_learning_rate", "backbone_learning_rate", "unfreeze_blocks",
                                           "fine_tune_all")):
            options["stages"] = stage_plan(values, options.get("epochs") or 5, None if peft == NO_PEFT else peft)
        return FitConfig.from_arguments(**options)


def stage_plan(values: Mapping[str, Any], epochs: int, peft: str | None = None) -> list[Stage]:
    """The stage plan of one trial: the head, then the top blocks, then (optionally) every block.

    With the default recipe's values (`recipe_defaults()`) this is the default plan itself
    (`default_stages(pretrained=True, epochs)`).

    Args:
        values: the trial's `head_learning_rate`, `backbone_learning_rate`, `unfreeze_blocks` (an int: that many
            top blocks; a float: that share of the blocks; 0: head only) and `fine_tune_all` (after the
            top-blocks stage, a last stage on every block at the backbone rate / 5, as the default plan does);
            missing values are the default plan's 1e-3, 1e-4, 0 and False.
        epochs: the most epochs per stage.
        peft: a PEFT kind for the backbone stage (its parameters on the top `unfreeze_blocks` blocks, on all
            blocks when 0), or None for full fine-tuning of those blocks.

    Returns:
        A list of `Stage`.

    Example:
        >>> [s.name for s in stage_plan({"unfreeze_blocks": 2}, 3)]
        ['head', 'top_blocks']
        >>> stage_plan(recipe_defaults(), 3) == default_stages(pretrained=True, epochs=3)
        True
    """
    blocks = values.get("unfreeze_blocks", 0)
    blocks = float(blocks) if isinstance(blocks, float) else int(blocks)
    warmup = 1 if epochs > 2 else 0
    plan = [Stage("head", epochs=epochs, learning_rate=float(values.get("head_learning_rate", 1e-3)),
                  train_blocks=0)]
    backbone_rate = float(values.get("backbone_learning_rate", 1e-4))
    if peft is not None:
        plan.append(Stage(peft, epochs=epochs, learning_rate=backbone_rate, train_blocks=blocks or "all",
                          parameters=peft, warmup_epochs=warmup))
        return plan
    if blocks:
        every_block = isinstance(blocks, float) and blocks >= 1
        plan.append(Stage("top_blocks" if not every_block else "all", epochs=epochs, learning_rate=backbone_rate,
                          train_blocks="all" if every_block else blocks, warmup_epochs=warmup,
                          layerwise_lr_decay=0.8))
        if values.get("fine_tune_all", False) and not every_block:
            plan.append(Stage("all", epochs=epochs, learning_rate=backbone_rate / FINAL_STAGE_DIVISOR,
                              train_blocks="all", warmup_epochs=warmup, layerwise_lr_decay=0.8))
    return plan


def ranked_candidates(ranking, candidates: Sequence[Any], top_k: int) -> dict[str, Any]:
    """`{backbone name: weights}` of the ranking's `top_k` candidates, best first.

    Args:
        ranking: a `RankingTable`.
        candidates: the candidates it ranked.
        top_k: how many to keep.

    Returns:
        The mapping `SearchSpace(candidates=...)` takes.
    """
    from keras_transfer.ranking.rank import as_candidate

    ranks = ranking.ranks()
    by_name = {as_candidate(candidate).name: as_candidate(candidate) for candidate in candidates}
    best = sorted(ranks, key=ranks.get)[:top_k]
    chosen = {}
    for name in best:
        candidate = by_name[name]
        if not isinstance(candidate.backbone, str):
            raise ValueError(f"Candidate {name!r} is not a registry backbone: a searched backbone must be a name "
                             "(list_backbones()).")
        chosen[candidate.backbone] = candidate.weights
    return chosen
