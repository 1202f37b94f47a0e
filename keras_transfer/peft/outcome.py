"""What a plan with parameter-efficient stages ends with: the adapter, the merged model, and the honest warning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import keras

from keras_transfer.models.backbones import Block
from keras_transfer.peft.adapters import Adapter
from keras_transfer.peft.lora import lora_capable, merge_lora
from keras_transfer.peft.parameters import tuned_variables


@dataclass
class PeftOutcome:
    """The end of a PEFT plan.

    Attributes:
        model: the classifier with LoRA merged into the kernels (plain: no extra serving cost).
        adapter: the tuned parameters and head (None when a stage also trained whole blocks).
        warnings: sentences for the user (the PEFT stage lost to the head-only stage).
    """

    model: keras.Model
    adapter: Adapter | None = None
    warnings: list[str] = field(default_factory=list)


def peft_stages_of(plan: Sequence) -> list:
    """The stages of `plan` that train a parameter-efficient set of the backbone (LoRA, bias, norm)."""
    return [stage for stage in plan if stage.trains_backbone and stage.parameters != "all"]


def check_peft_plan(plan: Sequence, blocks: Sequence[Block], backbone_name: str = "the backbone") -> None:
    """Raises before any training when a PEFT stage has nothing to train in its blocks (e.g. BitFit on MobileNet).

    Args:
        plan: the stages.
        blocks: the backbone's blocks.
        backbone_name: how the message names the backbone.

    Raises:
        ValueError: from `tuned_variables`, naming the backbone, the stage and what to use instead.

    Example:
        >>> check_peft_plan(peft_stages("bias"), blocks, "mobilenet")  # raises: no conv biases
    """
    from keras_transfer.train.stages import select_blocks

    for stage in peft_stages_of(plan):
        layers = [layer for block in select_blocks(blocks, stage.train_blocks) for layer in block.layers]
        where = f"{backbone_name}'s blocks of stage {stage.name!r}"
        if stage.parameters == "lora":
            if not lora_capable(layers):
                tuned_variables([], "lora", where)
        else:
            tuned_variables(layers, stage.parameters, where)


def check_resumable(plan: Sequence) -> None:
    """Raises when `resume=True` is asked of a plan with a LoRA stage, which a resume cannot continue.

    A saved Keras model stores each LoRA layer's merged kernel and reloads
    its adapters at zero, where their gradients are zero too: the adapters
    could not train on after a resume.

    Raises:
        ValueError: naming the LoRA stages and what to do.
    """
    lora = [stage.name for stage in plan if stage.parameters == "lora" and stage.trains_backbone]
    if lora:
        raise ValueError(f"resume=True cannot continue the LoRA stage(s) {lora}: a saved model stores merged "
                         "kernels and reloads the adapters at zero, where they cannot train on. Run again with "
                         "resume=False (a LoRA plan is short: only the adapters and the head train).")


def finish_peft(model: keras.Model, plan: Sequence, blocks: Sequence[Block], history: Sequence[dict],
                kept_stage: str | None, monitor: str, meta: dict | None = None) -> PeftOutcome:
    """The adapter of the run, its model with LoRA merged, and a warning when PEFT lost to the head alone.

    Args:
        model: the classifier after the plan (its kept stage's weights, LoRA not merged).
        plan: the stages run.
        blocks: the backbone's blocks.
        history: the stage records (name, best_value, trainable_params).
        kept_stage: the stage whose weights the model holds.
        monitor: the metric the stages were judged on.
        meta: recorded in the adapter (class names, image size).

    Returns:
        A `PeftOutcome` (`model` unchanged when the plan has no PEFT stage).

    Example:
        >>> outcome = finish_peft(model, plan, blocks, staged.stage_history, staged.kept_stage, "val_loss")
    """
    peft = peft_stages_of(plan)
    if not peft:
        return PeftOutcome(model)
    outcome = PeftOutcome(merge_lora(model))
    if not any(stage.trains_backbone and stage.parameters == "all" for stage in plan):
        outcome.adapter = Adapter.from_model(model, plan, blocks, meta)
    by_name = {stage.name: stage for stage in plan}
    kept = by_name.get(kept_stage)
    if kept is not None and not kept.trains_backbone:
        outcome.warnings.append(lost_to_head_warning(history, peft, kept_stage, monitor))
    return outcome


def lost_to_head_warning(history: Sequence[dict], peft: Sequence, head_stage: str, monitor: str) -> str:
    """The sentence saying the PEFT stage scored below the head-only stage, whose weights are kept."""
    records = {record["name"]: record for record in history}
    head = records.get(head_stage, {})
    parts = []
    for stage in peft:
        record = records.get(stage.name, {})
        parts.append(f"'{stage.name}' ({stage.parameters}, {record.get('trainable_params', '?')} trainable "
                     f"parameters: best {monitor} {_value(record.get('best_value'))})")
    return (f"The parameter-efficient stage {', '.join(parts)} did not beat the head-only stage '{head_stage}' "
            f"({monitor} {_value(head.get('best_value'))}): the head-only weights are kept. With few labels a "
            "head on frozen features is often the better model; try more epochs or another learning rate (or "
            "LoRA rank), or full fine-tuning (peft=None).")


def _value(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"
