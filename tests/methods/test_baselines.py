"""Baselines: the linear probe is logistic regression exactly; negative transfer is caught and the better model kept."""

import keras
import numpy as np
import pytest

from keras_transfer import build_and_fit
from keras_transfer.data.sources import from_arrays
from keras_transfer.methods.linear_probe import linear_probe
from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train.feature_cache import extract_features


def test_linear_probe_model_predicts_what_the_logistic_regression_predicts(vgg16_weights, shapes_arrays):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y, _ = shapes_arrays
    model = build_model("vgg16", 3, weights=vgg16_weights, image_size=32)
    features, labels = extract_features(model, from_arrays(x[:90], y[:90]), (32, 32))
    probe = linear_probe(model, (features, labels))
    scaler = StandardScaler().fit(features)
    reference = LogisticRegression(max_iter=2000, random_state=0).fit(scaler.transform(features), y[:90])
    held_out = x[90:].astype("float32")
    expected = reference.predict_proba(scaler.transform(extract_features(
        model, from_arrays(x[90:], y[90:]), (32, 32))[0]))
    np.testing.assert_allclose(probe.predict(held_out, verbose=0), expected, atol=1e-4)
    assert probe.get_layer("backbone") is not model.get_layer("backbone")


def test_binary_linear_probe(vgg16_weights, shapes_arrays):
    x, y, _ = shapes_arrays
    model = build_model("vgg16", 2, weights=vgg16_weights, image_size=32)
    features, labels = extract_features(model, from_arrays(x[:60], y[:60] == 0), (32, 32))
    probe = linear_probe(model, (features, labels))
    assert probe.output_shape == (None, 1)
    accuracy = ((probe.predict(x[:60], verbose=0)[:, 0] > 0.5) == (y[:60] == 0)).mean()
    assert accuracy > 0.9


def test_negative_transfer_is_warned_about_and_the_better_model_kept(shapes_arrays):
    # A tiny CNN whose "pretrained" kernels are made useless on purpose: shuffled and blown up 30x.
    x, y, _ = shapes_arrays
    backbone = tiny_backbone(32, widths=(8, 16, 32))
    rng = np.random.default_rng(0)
    for layer in backbone.constructor().layers:  # a custom backbone's constructor returns its one model
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.permutation(kernel.ravel()).reshape(kernel.shape) * 30.0, bias])
    result = build_and_fit((x, y), backbone=backbone, weights="given", image_size=32, epochs=2, batch_size=16,
                           baselines=["scratch"], verbose=0)
    scores = result.baselines
    assert scores["scratch"]["accuracy"] > scores["fine_tuned"]["accuracy"], scores
    assert any(line.startswith("Negative transfer") and "scratch" in line for line in result.warnings)
    assert result.kept == "scratch"
    assert result.metrics["accuracy"] == pytest.approx(scores["scratch"]["accuracy"])
    assert "Kept the scratch model" in result.warnings[-1] or any("Kept the scratch" in w for w in result.warnings)


def test_unknown_and_impossible_baselines_are_refused(shapes_arrays):
    x, y, _ = shapes_arrays
    with pytest.raises(ValueError, match=r"Unknown baseline\(s\) \['knn'\]"):
        build_and_fit((x, y), backbone="vgg16", weights=None, image_size=32, baselines=["knn"], verbose=0)
    with pytest.raises(ValueError, match="linear probe needs pretrained weights"):
        build_and_fit((x, y), backbone="vgg16", weights=None, image_size=32, baselines=["linear_probe"], verbose=0)
