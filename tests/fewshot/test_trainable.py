"""set_trainable_blocks(): exactly the chosen backbone blocks train, BatchNorm never."""

from keras_transfer.fewshot.trainable import set_trainable_blocks
from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone


def trainable_layers(model):
    return sorted(layer.name for layer in model.get_layer("backbone").layers if layer.trainable and layer.weights)


def test_top_blocks_train_and_batchnorm_stays_frozen():
    model = build_model(tiny_backbone(32), 3, weights="given", image_size=32)
    assert set_trainable_blocks(model, 1) == ["block2"]
    assert trainable_layers(model) == ["block2_conv"]
    assert set_trainable_blocks(model, "all") == ["block1", "block2"]
    assert trainable_layers(model) == ["block1_conv", "block2_conv"]
    assert set_trainable_blocks(model, 0) == [] and not model.get_layer("backbone").trainable
