"""fine_tune: with nothing held out it keeps the linear probe it would start from, and says why."""

import pytest

from keras_transfer import build_and_fit
from keras_transfer.methods.base import resolve_method
from keras_transfer.testing.tiny import tiny_backbone


def test_without_validation_data_the_probe_is_kept_with_a_warning_unless_asked_to_fine_tune(shapes_arrays):
    x, y, _ = shapes_arrays
    common = dict(weights="given", image_size=32, validation_split=0, epochs=1, verbose=0)
    kept = build_and_fit((x[:60], y[:60]), backbone=tiny_backbone(32), **common)
    assert kept.history == [] and kept.method_record["kept"] == "linear_probe"
    assert any(line.startswith("No validation data: nothing held out can check") for line in kept.warnings)
    tuned = build_and_fit((x[:60], y[:60]), backbone=tiny_backbone(32),
                          method_options={"without_validation": "fine_tune"}, **common)
    assert [stage["name"] for stage in tuned.history] == ["head", "top_blocks", "all"]
    assert not any(line.startswith("No validation data") for line in tuned.warnings)
    scratch = build_and_fit((x[:60], y[:60]), backbone=tiny_backbone(32), **{**common, "weights": None})
    assert scratch.history[0]["name"] == "all"  # nothing to probe from scratch: the stages run


def test_an_unknown_without_validation_choice_is_refused():
    with pytest.raises(ValueError, match=r"without_validation must be one of \('keep_probe', 'fine_tune'\)"):
        resolve_method("fine_tune", {"without_validation": "guess"})
