"""The method interface: a method added in this test file alone plugs into build_and_fit, baselines and reruns."""

import keras
import numpy as np
import pytest

from keras_transfer import MethodResult, TransferMethod, build_and_fit, build_and_fit_from_config, list_methods
from keras_transfer.methods import base
from keras_transfer.methods.base import register_method, resolve_method
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train.feature_cache import feature_model


class HingeHead(TransferMethod):
    """A toy method: a linear head on the frozen features, trained with the squared hinge loss."""

    name = "hinge_head"
    needs_pretrained = True
    uses_features = True
    combines_with = frozenset({"linear_probe"})
    option_defaults = {"epochs": 30}

    def fit(self, context):
        features, labels = context.clean_features()
        head = keras.Sequential([keras.Input(features.shape[1:]),
                                 keras.layers.Dense(labels.shape[1], name="hinge_logits")])
        head.compile(optimizer=keras.optimizers.Adam(0.01), loss="squared_hinge")
        head.fit(features, labels * 2 - 1, epochs=self.options["epochs"], batch_size=16, verbose=0)
        copy = keras.models.clone_model(context.model)
        copy.set_weights(context.model.get_weights())
        logits = head.get_layer("hinge_logits")
        outputs = keras.layers.Activation("softmax", name="predictions")(logits(feature_model(copy).output))
        return MethodResult(keras.Model(copy.inputs, outputs), record={"loss": "squared_hinge"})


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    register_method(HingeHead)
    return HingeHead


def test_a_method_from_a_test_file_trains_scores_and_reruns_by_name(registered, shapes_arrays):
    x, y, _ = shapes_arrays
    result = build_and_fit((x, y), backbone=tiny_backbone(32), weights="given", image_size=32,
                           method="hinge_head", method_options={"epochs": 20}, baselines=["linear_probe"],
                           verbose=0)
    assert "hinge_head" in list_methods()
    assert result.method_record == {"name": "hinge_head", "loss": "squared_hinge"}
    assert result.config["method"] == "hinge_head" and result.config["method_options"] == {"epochs": 20}
    assert set(result.baselines) == {"fine_tuned", "linear_probe"}
    assert result.baselines["fine_tuned"]["accuracy"] > 0.6, result.baselines
    probabilities = result.model.predict(x[:4], verbose=0)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    again = build_and_fit_from_config(result.config, data=(x, y), backbone=tiny_backbone(32), verbose=0)
    assert again.method_record["name"] == "hinge_head"


def test_an_instance_runs_without_registering_and_unsupported_pairs_are_refused(shapes_arrays):
    x, y, _ = shapes_arrays
    result = build_and_fit((x[:30], y[:30]), backbone=tiny_backbone(32), weights="given", image_size=32,
                           method=HingeHead(epochs=2), verbose=0)
    assert result.config["method"] == "hinge_head" and result.history == []
    with pytest.raises(ValueError, match="'hinge_head' cannot be combined with 'scratch'; it combines with"):
        build_and_fit((x, y), backbone=tiny_backbone(32), weights="given", method=HingeHead(),
                      baselines=["scratch"], verbose=0)
    with pytest.raises(ValueError, match="A hinge head needs pretrained weights"):
        build_and_fit((x, y), backbone=tiny_backbone(32), weights=None, image_size=32, method=HingeHead(),
                      verbose=0)


def test_unknown_methods_and_options_say_what_exists():
    with pytest.raises(ValueError, match=r"Unknown method 'dann': choose from \[.*'fine_tune', 'linear_probe'"):
        resolve_method("dann")
    with pytest.raises(ValueError, match=r"Method 'linear_probe' has no option\(s\) \['rank'\]"):
        resolve_method("linear_probe", {"rank": 4})
    with pytest.raises(ValueError, match="only with a method name"):
        resolve_method(HingeHead(), {"epochs": 3})
    with pytest.raises(ValueError, match="needs a class attribute `name`"):
        register_method(type("Nameless", (TransferMethod,), {}))


def test_linear_probe_and_scratch_run_as_the_main_method(shapes_arrays):
    x, y, _ = shapes_arrays
    probe = build_and_fit((x, y), backbone=tiny_backbone(32), weights="given", image_size=32, method="linear_probe",
                          verbose=0)
    assert probe.method_record["regularization"] > 0 and "logistic regression" in probe.method_record["recipe"]
    assert probe.method_record["name"] == "linear_probe" and probe.history == []
    scratch = build_and_fit((x, y), backbone=tiny_backbone(32), weights=None, image_size=32, method="scratch",
                            epochs=2, verbose=0)
    assert scratch.method_record["name"] == "scratch" and scratch.history[0]["name"] == "all"


class ProbeOnExtraData(TransferMethod):
    """A toy method that declares an extra data set and its honest baseline."""

    name = "probe_on_extra"
    extra_data = ("validation_data",)
    needs_pretrained = True
    uses_features = True
    combines_with = frozenset({"linear_probe"})
    honest_baseline = "linear_probe"

    def fit(self, context):
        extra = context.load_extra("validation_data")
        assert context.load_extra("validation_data") is extra and len(extra) == len(context.validation_spec)
        return resolve_method("linear_probe").fit(context)


def test_extra_data_is_required_and_loaded_and_the_honest_baseline_always_runs(shapes_arrays):
    x, y, _ = shapes_arrays
    with pytest.raises(ValueError, match="'probe_on_extra' needs validation_data="):
        build_and_fit((x, y), backbone=tiny_backbone(32), weights="given", image_size=32,
                      method=ProbeOnExtraData(), verbose=0)
    result = build_and_fit((x[:90], y[:90]), validation_data=(x[90:], y[90:]), backbone=tiny_backbone(32),
                           weights="given", image_size=32, method=ProbeOnExtraData(), verbose=0)
    assert set(result.baselines) == {"fine_tuned", "linear_probe"}
    assert result.baselines["fine_tuned"] == result.baselines["linear_probe"]
