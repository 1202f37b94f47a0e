"""The scratch baseline is the from-scratch run itself: same initial weights, plan and precise BatchNorm."""

import pytest

from keras_transfer import build_and_fit
from keras_transfer.methods.scratch import scratch_plan
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train import default_stages


def test_the_scratch_plan_is_the_direct_one_and_never_shorter_than_the_run():
    assert scratch_plan(default_stages(True), None) == default_stages(False)
    assert scratch_plan(default_stages(True, epochs=2), 2)[0].epochs == 6
    assert scratch_plan(default_stages(True, epochs=10), 10)[0].epochs == 30


def test_the_scratch_baseline_of_a_pretrained_run_scores_like_a_direct_scratch_run(shapes_arrays):
    x, y, _ = shapes_arrays
    common = dict(backbone=tiny_backbone(32), image_size=32, epochs=3, seed=1, verbose=0)
    pretrained = build_and_fit((x, y), weights="given", stages=[{"name": "all", "epochs": 3, "train_blocks": "all"}],
                               baselines=["scratch"], **common)
    direct = build_and_fit((x, y), weights=None, **{**common, "backbone": tiny_backbone(32)})
    assert pretrained.baselines["scratch"]["accuracy"] == pytest.approx(direct.metrics["accuracy"], abs=0.02)
    recipe = pretrained.baseline_records["scratch"]["recipe"]
    assert "random weights" in recipe and "precise BatchNorm" in recipe and "up to 3 epochs" in recipe
