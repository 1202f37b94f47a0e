"""build_and_fit(peft=...) end to end: the adapter alone, applied to a fresh backbone, reproduces the predictions."""

import numpy as np
import pytest

from keras_transfer import FitConfig, Stage, build_and_fit, build_model, load_adapter, model_blocks
from keras_transfer.peft.adapters import Adapter
from keras_transfer.peft.lora import has_lora
from keras_transfer.testing.tiny import tiny_backbone


@pytest.fixture(scope="module")
def lora_run(shapes_arrays):
    x, y, _ = shapes_arrays
    result = build_and_fit((x[:60], y[:60]), backbone=tiny_backbone(32), weights="given", image_size=32,
                           peft="lora", epochs=1, augmentation=None, verbose=0)
    return result, x


def fresh_classifier():
    return build_model(tiny_backbone(32), 3, weights="given", image_size=32)


def test_the_lora_adapter_reproduces_the_predictions_on_a_fresh_backbone(lora_run, tmp_path):
    result, x = lora_run
    assert [(stage["name"], stage.get("parameters")) for stage in result.history] == [("head", None),
                                                                                      ("lora", "lora")]
    assert not has_lora(result.model)  # the kept model has its adapters merged
    path = result.save_adapter(tmp_path / "task.adapter.npz")
    adapter = Adapter.load(path)
    assert sorted(adapter.variables) == [f"block{i}_conv/lora_kernel_{ab}" for i in (1, 2) for ab in "ab"]
    assert list(adapter.head) == ["predictions"] and adapter.lora["block1_conv"] == {"rank": 8, "alpha": 8.0}
    expected = result.model.predict(x[:16], verbose=0)
    applied = load_adapter(fresh_classifier(), path)
    assert has_lora(applied)
    assert np.abs(applied.predict(x[:16], verbose=0) - expected).max() < 1e-5
    merged = load_adapter(fresh_classifier(), path, merge=True)
    assert not has_lora(merged) and np.abs(merged.predict(x[:16], verbose=0) - expected).max() < 1e-5
    result.model.save(tmp_path / "model.keras")
    assert path.stat().st_size < (tmp_path / "model.keras").stat().st_size


def test_the_peft_option_round_trips_and_the_report_lists_trainable_parameters(lora_run, tmp_path):
    result, _ = lora_run
    assert result.config["peft"] == "lora" and result.config["stages"][1]["lora_rank"] == 8
    assert FitConfig.from_dict(result.config) == result.fit_config
    report = result.report(tmp_path / "report.html").read_text()
    assert "trainable parameters" in report and f">{result.history[1]['trainable_params']}<" in report


def test_adapters_refuse_what_they_cannot_hold(lora_run, tmp_path):
    result, _ = lora_run
    other = build_model(tiny_backbone(32, widths=(4,)), 3, weights="given", image_size=32)
    other.name = result.model.name
    path = result.save_adapter(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="Cannot apply the adapter's block1_conv|has no layer 'block2_conv'"):
        load_adapter(other, path)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="is not a keras_transfer adapter"):
        Adapter.load(tmp_path / "other.npz")
    model = fresh_classifier()
    blocks = model_blocks(model, tiny_backbone(32))
    with pytest.raises(ValueError, match=r"Stage\(s\) \['all'\] trained every weight"):
        Adapter.from_model(model, [Stage("all", train_blocks="all")], blocks)
    with pytest.raises(ValueError, match="No stage of the plan trained backbone parameters"):
        Adapter.from_model(model, [Stage("head")], blocks)
