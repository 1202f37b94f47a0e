"""Stage plans: what one stage of fine-tuning trains, for how long and at what learning rate.

A plan is a list of `Stage`; `resolve_stages` turns what a user may write
(`"default"`, dicts, `Stage`s, or `peft="lora"`) into one, and
`select_blocks` says which backbone blocks a stage's `train_blocks` setting
names. A stage's `parameters` says what trains inside those blocks: every
weight, or only LoRA adapters, bias vectors or normalisation scales and
offsets (parameter-efficient fine-tuning, `keras_transfer.peft`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from keras_transfer.models.backbones import Block

SCHEDULES = ("cosine", "constant", "plateau")
# What trains inside a stage's blocks: every weight, or one parameter-efficient set (see `keras_transfer.peft`).
PARAMETERS = ("all", "lora", "bias", "norm")
PEFT_KINDS = PARAMETERS[1:]
DEFAULT_LORA_RANK = 8


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
        parameters: what trains inside `train_blocks`: `"all"` (every weight;
            BatchNorm stays frozen on a pretrained backbone), `"lora"` (low-rank
            adapters on the Dense and Conv layers, Keras' `enable_lora`; the
            kernels and biases stay frozen), `"bias"` (the bias vectors of
            convolution and dense layers: BitFit) or `"norm"` (the scale and
            offset of normalisation layers; BatchNorm statistics stay frozen).
            The head always trains all its weights.
        lora_rank: the adapters' rank (`parameters="lora"` only; default 8).
        lora_alpha: the adapters' scale numerator (update = alpha / rank * A B;
            default: the rank, as Keras does).

    Example:
        >>> Stage("head", epochs=5, learning_rate=1e-3, train_blocks=0)
        >>> Stage("lora", epochs=5, learning_rate=1e-3, train_blocks="all", parameters="lora", lora_rank=4)
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
    parameters: str = "all"
    lora_rank: int | None = None
    lora_alpha: float | None = None

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Stage {self.name!r}: schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if int(self.epochs) < 1:
            raise ValueError(f"Stage {self.name!r}: epochs must be at least 1, got {self.epochs}.")
        if not self.learning_rate > 0:
            raise ValueError(f"Stage {self.name!r}: learning_rate must be positive, got {self.learning_rate}.")
        if isinstance(self.train_blocks, tuple):
            self.train_blocks = list(self.train_blocks)
        self._check_parameters()

    def _check_parameters(self) -> None:
        if self.parameters not in PARAMETERS:
            raise ValueError(f"Stage {self.name!r}: parameters must be one of {PARAMETERS}, got "
                             f"{self.parameters!r}.")
        if self.parameters != "lora" and (self.lora_rank is not None or self.lora_alpha is not None):
            raise ValueError(f"Stage {self.name!r}: lora_rank and lora_alpha apply to parameters='lora' only "
                             f"(this stage trains {self.parameters!r}); drop them or set parameters='lora'.")
        if self.parameters == "lora":
            if self.lora_rank is None:
                self.lora_rank = DEFAULT_LORA_RANK
            if isinstance(self.lora_rank, bool) or int(self.lora_rank) != self.lora_rank or self.lora_rank < 1:
                raise ValueError(f"Stage {self.name!r}: lora_rank must be a whole number >= 1, got "
                                 f"{self.lora_rank!r}.")
            self.lora_rank = int(self.lora_rank)
            if self.lora_alpha is not None and not self.lora_alpha > 0:
                raise ValueError(f"Stage {self.name!r}: lora_alpha must be positive, got {self.lora_alpha!r}.")

    @property
    def trains_backbone(self) -> bool:
        """Whether the stage trains anything in the backbone (a head-only stage does not)."""
        return self.train_blocks != 0

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


def peft_stages(peft: str, epochs: int | None = None, lora_rank: int | None = None) -> list[Stage]:
    """The plan `build_and_fit(peft=...)` uses: the head alone, then one parameter-efficient stage on every block.

    The PEFT stage trains only its parameter set (and the head) at a head-like
    learning rate (1e-3: the frozen weights cannot be damaged, and the new
    parameters start at zero or at their pretrained values); if it does not
    beat the head-only stage, the head-only weights are kept (with a warning).

    Args:
        peft: `"lora"`, `"bias"` or `"norm"`.
        epochs: the most epochs per stage (default 5).
        lora_rank: the LoRA rank (default 8).

    Returns:
        `[Stage("head"), Stage(peft)]`.

    Example:
        >>> [(s.name, s.parameters) for s in peft_stages("lora")]
        [('head', 'all'), ('lora', 'lora')]
    """
    if peft not in PEFT_KINDS:
        raise ValueError(f"peft must be one of {PEFT_KINDS} (or None for full fine-tuning), got {peft!r}.")
    per_stage = epochs or 5
    lora = {"lora_rank": lora_rank or DEFAULT_LORA_RANK} if peft == "lora" else {}
    return [
        Stage("head", epochs=per_stage, learning_rate=1e-3, train_blocks=0),
        Stage(peft, epochs=per_stage, learning_rate=1e-3, train_blocks="all", parameters=peft,
              warmup_epochs=1 if per_stage > 2 else 0, **lora),
    ]


def resolve_stages(stages, pretrained: bool, epochs: int | None = None, peft: str | None = None) -> list[Stage]:
    """Turns `"default"`, a list of `Stage` or dicts into a list of `Stage`.

    Args:
        stages: `None` or `"default"` (see `default_stages`, or `peft_stages`
            when `peft` is given), one `Stage` or dict, or a list of them.
        pretrained: for the default plan: whether the backbone is pretrained.
        epochs: for the default plan: the most epochs per stage.
        peft: `"lora"`, `"bias"` or `"norm"`: the default plan becomes
            `peft_stages(peft)`; an explicit plan must have a stage with those
            parameters (so a saved config, which records both, reads back).

    Returns:
        A non-empty list of `Stage`.

    Raises:
        ValueError: an empty plan; `peft` from scratch, or with a plan that does not use it.

    Example:
        >>> resolve_stages([{"name": "x", "epochs": 2}], pretrained=True)[0].epochs
        2
        >>> resolve_stages("default", pretrained=True, peft="bias")[1].parameters
        'bias'
    """
    if peft is not None and not pretrained:
        raise ValueError(f"peft={peft!r} tunes a few parameters of a pretrained backbone; with weights=None there "
                         "is nothing pretrained to keep frozen. Pass weights='imagenet' (or a weights file), or "
                         "drop peft= to train from scratch.")
    if stages in (None, "default"):
        return peft_stages(peft, epochs) if peft is not None else default_stages(pretrained, epochs)
    if isinstance(stages, (Stage, Mapping)):
        stages = [stages]
    resolved = [s if isinstance(s, Stage) else Stage.from_dict(s) for s in stages]
    if not resolved:
        raise ValueError("stages is empty: give at least one stage, or stages='default'.")
    if peft is not None and not any(stage.parameters == peft for stage in resolved):
        raise ValueError(f"peft={peft!r} with a plan that has no stage with parameters={peft!r}: give stages="
                         f"'default' (the PEFT plan), or add parameters={peft!r} to a stage of yours.")
    check_lora_last(resolved)
    return resolved


def check_lora_last(stages: Sequence[Stage]) -> None:
    """Raises when a stage training the backbone's own weights follows a LoRA stage.

    The LoRA adapters stay separate until the plan ends (so they can be
    saved alone and merged for export); a later stage of kernels or biases
    would train the adapters' base under them. Put LoRA stages last.

    Args:
        stages: the plan.

    Raises:
        ValueError: naming the stages.
    """
    lora_seen = None
    for stage in stages:
        if stage.parameters == "lora" and stage.trains_backbone:
            lora_seen = stage.name
        elif lora_seen is not None and stage.trains_backbone and stage.parameters != "lora":
            raise ValueError(f"Stage {stage.name!r} (parameters={stage.parameters!r}) follows the LoRA stage "
                             f"{lora_seen!r}: LoRA stages must come last in a plan (the adapters are merged into "
                             "the kernels when it ends). Move it before the LoRA stage.")


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
