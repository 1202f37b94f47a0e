"""Stage plans: block selection, the default plans, stages from dicts and bad options."""

import pytest

from keras_transfer.models.backbones import Block
from keras_transfer.train.stages import Stage, default_stages, resolve_stages, select_blocks


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
