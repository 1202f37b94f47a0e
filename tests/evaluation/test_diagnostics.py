"""Negative-transfer, stage and class-imbalance warnings."""



from keras_transfer.evaluation.diagnostics import imbalance_warnings, transfer_warnings

# --- transfer and imbalance warnings ----------------------------------------------------------------


def test_transfer_warnings_flag_negative_transfer_against_each_baseline():
    found = transfer_warnings(0.70, {"linear_probe": {"accuracy": 0.75}, "scratch": 0.72, "fine_tuned": 0.70}, [])
    assert len(found) == 2
    assert found[0].startswith("Negative transfer") and "linear_probe" in found[0] and "0.7500" in found[0]
    assert "head-only weights" in found[0]
    assert "scratch" in found[1] and "random weights" in found[1]


def test_transfer_warnings_are_empty_when_fine_tuning_helps():
    assert transfer_warnings(0.90, {"linear_probe": 0.85, "scratch": {"accuracy": 0.5}},
                             [("head", 0.85), ("top_blocks", 0.88), ("all", 0.90)]) == []
    assert transfer_warnings(None, {"linear_probe": 0.85}, [("head", None), ("all", 0.8)]) == []
    assert transfer_warnings(0.84, {"linear_probe": 0.85}, tolerance=0.02) == []


def test_transfer_warnings_flag_an_unfrozen_stage_worse_than_the_head_only_stage():
    found = transfer_warnings(0.86, {}, [("head", 0.86), ("top_blocks", 0.88), ("all", 0.80)])
    expected = (
        "Stage 'all' (backbone unfrozen) reached accuracy 0.8000, worse than the head-only stage 'head' (0.8600): "
        "unfreezing hurt. Lower its learning rate or unfreeze fewer blocks; the head-only weights are the better ones."
    )
    assert found == [expected]


def test_transfer_warnings_for_a_lower_is_better_metric():
    found = transfer_warnings(0.50, {"linear_probe": {"val_loss": 0.40}}, [("head", 0.45), ("all", 0.50)],
                              metric="val_loss", higher_is_better=False)
    assert len(found) == 2 and "worse than the linear_probe" in found[0] and "Stage 'all'" in found[1]


def test_imbalance_warning_above_a_ratio_of_three():
    assert imbalance_warnings({"a": 30, "b": 10}) == []  # exactly 3x
    (message,) = imbalance_warnings({"a": 31, "b": 10, "c": 20}, split="validation")
    assert "validation" in message and "'a' has 31" in message and "'b' only 10" in message and "3.1×" in message
    assert "no samples" in imbalance_warnings({"a": 5, "b": 0})[0]
    assert imbalance_warnings({"a": 5}) == [] and imbalance_warnings(None) == []
