"""evaluate_domains: the shift between two image sets in a classifier's pooled and bottleneck features."""

import numpy as np
import pytest

from keras_transfer.adaptation.domain_evaluation import evaluate_domains
from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone


def test_shift_and_target_accuracy_of_a_classifier_with_a_bottleneck(shapes_arrays):
    x, y, _ = shapes_arrays
    model = build_model(tiny_backbone(32), 3, weights=None, image_size=32, hidden_units=8)
    found = evaluate_domains(model, x[:30], 255 - x[30:60], target_labels=y[30:60])
    assert set(found["shift"]) == {"pooled backbone features", "bottleneck"}
    assert all(0 <= record["a_distance"] <= 2 and len(record["embedding"]["target"]) == 30
               for record in found["shift"].values())
    expected = np.mean(model.predict(255 - x[30:60], verbose=0).argmax(axis=1) == y[30:60])
    assert found["target_accuracy"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="3 labels for 30 target images"):
        evaluate_domains(model, x[:30], x[30:60], target_labels=y[:3])
