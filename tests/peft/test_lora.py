"""A LoRA stage trains only the adapters and the head; merged, the model is plain and predicts the same."""

import numpy as np
import pytest

from keras_transfer.models.classifier import get_backbone_layer, load_model
from keras_transfer.peft.lora import enable_lora, has_lora, lora_layers, merge_lora
from keras_transfer.serving.export import export
from keras_transfer.train import Stage, run_plan


def test_a_lora_stage_trains_only_the_adapters_and_its_merged_export_predicts_the_same(tiny_classifier, batches,
                                                                                      moved, tmp_path):
    model = tiny_classifier()
    stage = Stage("lora", 2, 5e-2, "all", parameters="lora", lora_rank=2, lora_alpha=4, patience=None)
    staged = None

    def run():
        nonlocal staged
        staged = run_plan(model, [stage], None, batches[0], None, monitor="loss", verbose=0)

    changed = moved(model, run)
    adapters = {f"block{i}_conv/lora_kernel_{ab}" for i in (1, 2) for ab in "ab"}
    assert changed == adapters | {"predictions/kernel", "predictions/bias"}  # kernels, biases, BatchNorm: bit-equal
    conv = get_backbone_layer(model).get_layer("block2_conv")
    assert (conv.lora_rank, conv.lora_alpha) == (2, 4) and tuple(conv.lora_kernel_a.shape) == (3, 3, 8, 2)
    assert staged.stage_history[0]["trainable_params"] == (27 * 2 + 2 * 8) + (72 * 2 + 2 * 16) + 16 * 3 + 3
    assert np.abs(conv.lora_kernel_b.numpy()).max() > 0  # the adapters moved: merging changes the kernels

    images = batches[1]
    unmerged = model.predict(images, verbose=0)
    merged = merge_lora(model)
    assert not has_lora(merged) and len(lora_layers(model)) == 2
    assert np.abs(merged.predict(images, verbose=0) - unmerged).max() < 1e-5
    exported = export(model, tmp_path / "export", class_names=["a", "b", "c"])
    served = load_model(exported.directory / "model.keras")
    assert not has_lora(served) and "lora_rank" not in str(served.get_config())
    assert np.abs(served.predict(images, verbose=0) - unmerged).max() < 1e-5
    assert merge_lora(served) is served


def test_enable_lora_refuses_another_rank_on_an_adapted_layer(tiny_classifier):
    layers = get_backbone_layer(tiny_classifier()).layers
    assert [layer.name for layer in enable_lora(layers, 2)] == ["block1_conv", "block2_conv"]
    assert len(enable_lora(layers, 2)) == 2  # the same rank again: kept
    with pytest.raises(ValueError, match="has LoRA rank 2 .* asked for rank 4"):
        enable_lora(layers, 4)
