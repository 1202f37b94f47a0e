import numpy as np
import pytest

import keras_transfer
from keras_transfer.text.encoders import load_encoder
from keras_transfer.text.result import TextFitResult
from keras_transfer.train import Stage


def test_a_text_run_goes_through_the_stages_and_scores_the_tfidf_baseline(run):
    assert isinstance(run, TextFitResult)
    assert [record["name"] for record in run.history] == ["head", "top"]
    assert run.history[0]["cached_features"]
    assert set(run.baselines) == {"tfidf", "fine_tuned"}
    assert run.config["text_column"] == "text" and run.config["sequence_length"] == 16
    assert run.config["pooling"] == "mean"


def test_staged_unfreezing_trains_exactly_the_planned_transformer_layer(run, tiny_preset, reviews):
    assert run.history[1]["trainable_blocks"] == ["transformer_layer_1"]
    from keras_transfer.text.blocks import TextBackboneSpec
    from keras_transfer.text.inputs import token_dataset, tokenize
    from keras_transfer.text.model import build_text_classifier
    from keras_transfer.train import run_plan

    encoder = load_encoder(tiny_preset)
    before = {layer.name: layer.get_weights() for layer in load_encoder(tiny_preset).backbone.layers}
    model = build_text_classifier(encoder, 2, 16)
    model.compile(loss="binary_crossentropy")
    texts, labels = reviews
    tokens = tokenize(encoder.preprocessor(16), texts)
    dataset = token_dataset(tokens, np.array([[label == "fresh"] for label in labels], np.float32), 16)
    blocks = TextBackboneSpec("tiny", "BertBackbone", "mean", 16).blocks(model.get_layer("backbone"))
    run_plan(model, [Stage("top", epochs=1, learning_rate=1e-2, train_blocks=1)], blocks, dataset, None,
             monitor="loss", verbose=0)
    for layer in model.get_layer("backbone").layers:
        changed = any(not np.allclose(a, b) for a, b in zip(before[layer.name], layer.get_weights()))
        assert changed == (layer.name == "transformer_layer_1"), layer.name


def test_negative_transfer_keeps_the_better_tfidf_model_with_a_warning(run):
    tfidf, fine_tuned = run.baselines["tfidf"]["accuracy"], run.baselines["fine_tuned"]["accuracy"]
    if tfidf > fine_tuned:
        assert run.kept == "tfidf"
        assert any("Negative transfer" in line for line in run.warnings)
    else:
        assert run.kept == "fine_tuned"


def test_data_checks_are_in_the_summary_and_the_warnings(run):
    checks = run.data_summary["text_checks"]
    assert sum(checks["empty"].values()) == 1
    assert checks["duplicates"] + checks["duplicates_across"] >= 1
    assert any("empty" in line for line in run.warnings)


def test_text_column_missing_from_the_data_is_a_clear_error(tiny_preset):
    import pandas as pd

    frame = pd.DataFrame({"review": ["good", "bad"], "label": ["p", "n"]})
    with pytest.raises(ValueError, match="no column 'text'.*text_column="):
        keras_transfer.build_and_fit(frame, backbone=str(tiny_preset), text_column="text", verbose=0)


def test_the_cli_has_the_text_flags():
    from keras_transfer.cli.fit_options import command_line_options

    options = command_line_options()
    assert {"text_column", "label_column", "sequence_length", "pooling"} <= set(options)
