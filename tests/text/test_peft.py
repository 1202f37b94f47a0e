import numpy as np

from keras_transfer.peft.lora import merge_lora
from keras_transfer.text.blocks import TextBackboneSpec
from keras_transfer.text.encoders import load_encoder
from keras_transfer.text.inputs import tokenize
from keras_transfer.text.model import build_text_classifier
from keras_transfer.train import Stage
from keras_transfer.train.callbacks.staged_unfreeze import StagedUnfreeze


def test_a_lora_stage_trains_only_the_adapters_of_the_bert_layers_and_merges(tiny_preset):
    encoder = load_encoder(tiny_preset)
    model = build_text_classifier(encoder, 3, 16)
    blocks = TextBackboneSpec("tiny", "BertBackbone", "mean", 16).blocks(model.get_layer("backbone"))
    stage = Stage("lora", train_blocks="all", parameters="lora", lora_rank=2)
    plan = StagedUnfreeze([stage], blocks=blocks, verbose=0)
    plan.set_model(model)
    plan.enable_lora_adapters()
    plan.set_trainable(stage)
    names = [variable.path for variable in model.trainable_variables]
    assert names and all("lora" in name or name.startswith("predictions/") for name in names)
    adapted = {name.split("/")[-2] for name in names if "lora" in name}
    assert {"query", "key", "value", "attention_output", "feedforward_intermediate_dense",
            "feedforward_output_dense", "token_embedding"} <= adapted
    for variable in model.trainable_variables:
        if "lora_kernel_a" in variable.path or "lora_embeddings_a" in variable.path:
            variable.assign(np.full(variable.shape, 0.05, np.float32))  # B stays zero: make A non-zero ...
        elif "lora_kernel_b" in variable.path or "lora_embeddings_b" in variable.path:
            variable.assign(np.full(variable.shape, 0.05, np.float32))  # ... and B, so the adapters matter
    tokens = tokenize(encoder.preprocessor(16), ["a great film", "dull and boring"])
    merged = merge_lora(model)
    np.testing.assert_allclose(merged.predict(tokens, verbose=0), model.predict(tokens, verbose=0), atol=1e-5)
