"""Stage plans: what one stage of fine-tuning trains, for how long and at what learning rate.

A plan is a list of `Stage`; `resolve_stages` turns what a user may write
(`"default"`, dicts, `Stage`s) into one, and `select_blocks` says which
backbone blocks a stage's `train_blocks` setting names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from keras_transfer.models.backbones import Block

SCHEDULES = ("cosine", "constant", "plateau")


@dataclass
class Stage:
    """One stage of a fine-tuning plan.

    Args:
        name: shown in logs, history and reports.
        epochs: the most epochs the stage runs (early stopping may end it sooner).
        learning_rate: peak learning rate of the stage.
        train_blocks: which backbone blocks train: `0` (head only), an int N
            (the top N blocks), a float in (0, 1) (that share of the blocks,
            from the top), `"all"`, or a list of block names. The head always trains.
        schedule: `"cosine"` (linear warm-up, then cosine decay to 1% of the
            peak), `"constant"`, or `"plateau"` (constant, divided by 5 after
            `plateau_patience` epochs without improvement; restarted each stage).
        warmup_epochs: epochs of linear warm-up (cosine schedule only).
        patience: early stopping: epochs without improvement before the stage
            ends (its best weights restored); None runs every epoch.
        plateau_patience: epochs without improvement before a plateau cut.
        weight_decay: AdamW's decoupled weight decay.
        layerwise_lr_decay: e.g. 0.7: each unfrozen block below the top one
            learns at 0.7 times the rate of the block above it; None: one rate.

    Example:
        >>> Stage("head", epochs=5, learning_rate=1e-3, train_blocks=0)
    """

    name: str = "stage"
    epochs: int = 5
    learning_rate: float = 1e-3
    train_blocks: int | float | str | list = 0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    patience: int | None = 3
    plateau_patience: int = 2
    weight_decay: float = 0.01
    layerwise_lr_decay: float | None = None

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Stage {self.name!r}: schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if int(self.epochs) < 1:
            raise ValueError(f"Stage {self.name!r}: epochs must be at least 1, got {self.epochs}.")
        if not self.learning_rate > 0:
            raise ValueError(f"Stage {self.name!r}: learning_rate must be positive, got {self.learning_rate}.")
        if isinstance(self.train_blocks, tuple):
            self.train_blocks = list(self.train_blocks)

    @classmethod
    def from_dict(cls, spec: Mapping) -> Stage:
        """A stage from a dict of its fields (as `to_dict` and the JSON config write them).

        Args:
            spec: `{field: value}`; fields not given keep their defaults.

        Returns:
            The `Stage`.

        Example:
            >>> Stage.from_dict({"name": "head", "epochs": 2})
        """
        known = {f.name for f in fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"Unknown stage option(s) {sorted(unknown)}; a stage takes {sorted(known)}.")
        return cls(**spec)

    def to_dict(self) -> dict:
        """The stage's fields as a JSON-able dict (what `from_dict` reads back).

        Returns:
            `{field: value}`.

        Example:
            >>> Stage("head").to_dict()["name"]
            'head'
        """
        return asdict(self)


def default_stages(pretrained: bool, epochs: int | None = None) -> list[Stage]:
    """The plan `build_and_fit` uses when `stages="default"`.

    Pretrained: head only (lr 1e-3), then the top third of the blocks (1e-4,
    layer-wise decay 0.8), then everything (2e-5). From scratch: one stage
    training everything (1e-3).

    Args:
        pretrained: whether the backbone starts from pretrained weights.
        epochs: the most epochs per stage (default 5 per stage pretrained, 20 from scratch).

    Returns:
        A list of `Stage`.

    Example:
        >>> [stage.name for stage in default_stages(pretrained=True)]
        ['head', 'top_blocks', 'all']
    """
    if not pretrained:
        return [Stage("all", epochs=epochs or 20, learning_rate=1e-3, train_blocks="all",
                      warmup_epochs=1 if (epochs or 20) > 2 else 0, patience=5)]
    per_stage = epochs or 5
    return [
        Stage("head", epochs=per_stage, learning_rate=1e-3, train_blocks=0),
        Stage("top_blocks", epochs=per_stage, learning_rate=1e-4, train_blocks=1 / 3,
              warmup_epochs=1 if per_stage > 2 else 0, layerwise_lr_decay=0.8),
        Stage("all", epochs=per_stage, learning_rate=2e-5, train_blocks="all",
              warmup_epochs=1 if per_stage > 2 else 0, layerwise_lr_decay=0.8),
    ]


def resolve_stages(stages, pretrained: bool, epochs: int | None = None) -> list[Stage]:
    """Turns `"default"`, a list of `Stage` or dicts into a list of `Stage`.

    Args:
        stages: `None` or `"default"` (see `default_stages`), one `Stage` or
            dict, or a list of them.
        pretrained: for the default plan: whether the backbone is pretrained.
        epochs: for the default plan: the most epochs per stage.

    Returns:
        A non-empty list of `Stage`.

    Example:
        >>> resolve_stages([{"name": "x", "epochs": 2}], pretrained=True)[0].epochs
        2
    """
    if stages in (None, "default"):
        return default_stages(pretrained, epochs)
    if isinstance(stages, (Stage, Mapping)):
        stages = [stages]
    resolved = [s if isinstance(s, Stage) else Stage.from_dict(s) for s in stages]
    if not resolved:
        raise ValueError("stages is empty: give at least one stage, or stages='default'.")
    return resolved


def select_blocks(blocks: Sequence[Block], train_blocks) -> list[Block]:
    """The blocks a stage trains, from its `train_blocks` setting.

    Args:
        blocks: the backbone's blocks, bottom (stem) first.
        train_blocks: as `Stage.train_blocks`: 0, an int, a float share, `"all"`
            or block names.

    Returns:
        The selected blocks, in the order of `blocks`.

    Example:
        >>> [b.name for b in select_blocks([Block("a", ()), Block("b", ())], 1)]
        ['b']
    """
    count = len(blocks)
    if isinstance(train_blocks, str):
        if train_blocks == "all":
            return list(blocks)
        train_blocks = [train_blocks]
    if isinstance(train_blocks, bool):
        raise ValueError("train_blocks must be an int, a float share, 'all' or block names, not a bool.")
    if isinstance(train_blocks, int):
        if train_blocks < 0:
            raise ValueError(f"train_blocks must be >= 0, got {train_blocks}.")
        return list(blocks[count - min(train_blocks, count):]) if train_blocks else []
    if isinstance(train_blocks, float):
        if not 0 < train_blocks <= 1:
            raise ValueError(f"A train_blocks share must be in (0, 1], got {train_blocks}.")
        return list(blocks[count - max(1, math.ceil(train_blocks * count)):])
    names = [block.name for block in blocks]
    unknown = [name for name in train_blocks if name not in names]
    if unknown:
        raise ValueError(f"Unknown block(s) {unknown}: this backbone's blocks are {names}.")
    return [block for block in blocks if block.name in set(train_blocks)]
