"""Stage plans: block selection, the default plans, stages from dicts and bad options."""

import pytest

from keras_transfer.models.backbones import Block
from keras_transfer.train.stages import Stage, default_stages, peft_stages, resolve_stages, select_blocks


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(0, []), (2, ["d", "e"]), (0.5, ["c", "d", "e"]), ("all", list("abcde")), (["b", "d"], ["b", "d"]),
     (9, list("abcde"))],
)
def test_select_blocks(setting, expected):
    blocks = [Block(name, ()) for name in "abcde"]
    assert [b.name for b in select_blocks(blocks, setting)] == expected


def test_select_blocks_names_unknown_blocks():
    with pytest.raises(ValueError, match=r"Unknown block\(s\) \['z'\].*\['a', 'b'\]"):
        select_blocks([Block("a", ()), Block("b", ())], ["z"])


def test_default_plans():
    pretrained = default_stages(pretrained=True)
    assert [s.name for s in pretrained] == ["head", "top_blocks", "all"]
    assert [s.learning_rate for s in pretrained] == sorted((s.learning_rate for s in pretrained), reverse=True)
    scratch = default_stages(pretrained=False, epochs=7)
    assert [(s.name, s.epochs, s.train_blocks) for s in scratch] == [("all", 7, "all")]


def test_stages_from_dicts_and_bad_options():
    stages = resolve_stages([{"name": "x", "epochs": 2, "learning_rate": 0.01}], pretrained=True)
    assert stages[0] == Stage("x", 2, 0.01)
    assert Stage.from_dict(stages[0].to_dict()) == stages[0]
    with pytest.raises(ValueError, match=r"Unknown stage option\(s\) \['lr'\]"):
        resolve_stages([{"lr": 0.1}], pretrained=True)
    with pytest.raises(ValueError, match="schedule must be one of"):
        Stage(schedule="linear")


def test_peft_stage_fields_round_trip_and_bad_ones_say_what_to_do():
    lora = Stage("lora", 2, 1e-3, "all", parameters="lora", lora_rank=4, lora_alpha=8.0)
    assert Stage.from_dict(lora.to_dict()) == lora and lora.to_dict()["lora_rank"] == 4
    assert Stage(parameters="lora").lora_rank == 8  # Keras-style default rank, recorded in the config
    assert Stage.from_dict({"name": "old"}).parameters == "all"  # configs written before PEFT read back
    with pytest.raises(ValueError, match="parameters must be one of .*'lora', 'bias', 'norm'"):
        Stage(parameters="adapters")
    with pytest.raises(ValueError, match="lora_rank and lora_alpha apply to parameters='lora' only"):
        Stage(parameters="bias", lora_rank=4)
    with pytest.raises(ValueError, match="lora_rank must be a whole number >= 1"):
        Stage(parameters="lora", lora_rank=0)


def test_peft_picks_the_head_then_peft_plan_and_checks_an_explicit_one():
    plan = resolve_stages("default", pretrained=True, epochs=3, peft="norm")
    assert [(s.name, s.train_blocks, s.parameters) for s in plan] == [("head", 0, "all"), ("norm", "all", "norm")]
    assert peft_stages("lora", lora_rank=16)[1].lora_rank == 16
    assert resolve_stages([s.to_dict() for s in plan], pretrained=True, peft="norm") == plan  # a saved config
    with pytest.raises(ValueError, match="peft='bias' with a plan that has no stage with parameters='bias'"):
        resolve_stages(plan, pretrained=True, peft="bias")
    with pytest.raises(ValueError, match="weights=None there is nothing pretrained"):
        resolve_stages("default", pretrained=False, peft="lora")
    with pytest.raises(ValueError, match="peft must be one of"):
        peft_stages("prefix")
    with pytest.raises(ValueError, match="Stage 'all' .* follows the LoRA stage 'lora'"):
        resolve_stages([Stage("lora", parameters="lora", train_blocks=1), Stage("all", train_blocks="all")],
                       pretrained=True)
