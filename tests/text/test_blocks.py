from keras_transfer.text.blocks import TextBackboneSpec, text_blocks
from keras_transfer.text.encoders import load_encoder


def test_blocks_cover_every_backbone_layer_once_in_order(tiny_preset):
    backbone = load_encoder(tiny_preset).backbone
    blocks = text_blocks(backbone)
    assert [block.name for block in blocks] == ["embeddings", "transformer_layer_0", "transformer_layer_1",
                                               "pooler"]
    top_level = {id(layer) for layer in backbone.layers}
    covered = [layer for block in blocks for layer in block.layers if id(layer) in top_level]
    assert [layer.name for layer in covered] == [layer.name for layer in backbone.layers]
    nested = {layer.name for layer in blocks[1].layers}
    assert {"query", "key", "value", "feedforward_intermediate_dense"} <= nested  # what LoRA adapts


def test_mean_pooling_leaves_the_unused_pooler_out_of_the_model(tiny_preset):
    from keras_transfer.text.model import build_text_classifier

    encoder = load_encoder(tiny_preset)
    assert encoder.pooling == "mean"
    mean_backbone = build_text_classifier(encoder, 2, 16).get_layer("backbone")
    blocks = TextBackboneSpec("tiny", "BertBackbone", "mean", 16).blocks(mean_backbone)
    assert [block.name for block in blocks] == ["embeddings", "transformer_layer_0", "transformer_layer_1"]
    assert "pooled_dense" not in [layer.name for layer in mean_backbone.layers]
