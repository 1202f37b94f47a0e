"""The end of a PEFT plan: the warning and kept head when PEFT lost, the early checks, and the --peft flag."""

import keras
import pytest

from keras_transfer.cli.fit_options import config_arguments
from keras_transfer.cli.main import build_parser
from keras_transfer.models.backbones import Block
from keras_transfer.models.classifier import model_blocks
from keras_transfer.peft.lora import enable_lora, has_lora
from keras_transfer.peft.outcome import check_peft_plan, check_resumable, finish_peft
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train.stages import peft_stages


def test_a_peft_stage_that_lost_to_the_head_is_named_and_the_head_kept(tiny_classifier):
    model = tiny_classifier()
    plan = peft_stages("lora", epochs=1, lora_rank=2)
    blocks = model_blocks(model, tiny_backbone(32))
    keras_layers = [layer for block in blocks for layer in block.layers]
    enable_lora(keras_layers, 2)
    history = [{"name": "head", "best_value": 0.5, "trainable_params": 51},
               {"name": "lora", "best_value": 0.7, "trainable_params": 403}]
    outcome = finish_peft(model, plan, blocks, history, "head", "val_loss")
    assert not has_lora(outcome.model) and has_lora(model)
    assert outcome.adapter is not None and outcome.adapter.parameters == ["lora"]
    [warning] = outcome.warnings
    assert "'lora' (lora, 403 trainable parameters: best val_loss 0.7000) did not beat the head-only stage " \
           "'head' (val_loss 0.5000): the head-only weights are kept" in warning
    assert finish_peft(model, plan, blocks, history, "lora", "val_loss").warnings == []


def test_bitfit_on_convolutions_without_bias_is_refused_before_training_and_lora_is_not_resumed():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inputs, x)
    blocks = [Block("block1", tuple(model.layers[1:]))]
    with pytest.raises(ValueError, match=r"in mobilenet's blocks of stage 'bias'.*no bias vectors"):
        check_peft_plan(peft_stages("bias"), blocks, "mobilenet")
    check_peft_plan(peft_stages("norm"), blocks)
    check_peft_plan(peft_stages("lora"), blocks)
    with pytest.raises(ValueError, match="parameters='lora' has nothing to train"):
        check_peft_plan(peft_stages("lora"), [Block("bn_only", (model.layers[2],))])
    with pytest.raises(ValueError, match=r"resume=True cannot continue the LoRA stage\(s\) \['lora'\]"):
        check_resumable(peft_stages("lora"))
    check_resumable(peft_stages("norm"))


def test_the_fit_command_has_a_peft_flag():
    args = build_parser().parse_args(["fit", "data/", "-o", "out", "--peft", "lora"])
    assert config_arguments(args)["peft"] == "lora"
    with pytest.raises(ValueError, match="--peft must be one of"):
        config_arguments(build_parser().parse_args(["fit", "data/", "-o", "out", "--peft", "prefix"]))

