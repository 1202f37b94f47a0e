"""Exports to a bucket path (tested with ram://): staged, copied, EXPORT_COMPLETE last; load() refuses without it."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer import build_model, export, load
from keras_transfer.serving.remote import COMPLETE_FILE
from keras_transfer.testing.tiny import tiny_backbone


def test_a_bucket_export_loads_when_complete_and_is_refused_without_its_marker():
    model = build_model(tiny_backbone(16, (4,)), 3, weights="given", image_size=16)
    result = export(model, "ram://bucket/exports/tiny", class_names=["a", "b", "c"])
    assert result.directory == "ram://bucket/exports/tiny"
    assert tf.io.gfile.exists(f"ram://bucket/exports/tiny/{COMPLETE_FILE}")
    predictor = load("ram://bucket/exports/tiny")
    pixels = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3)).astype(np.uint8)
    assert np.allclose(predictor.predict_probabilities(pixels), model.predict(pixels, verbose=0), atol=1e-5)
    with pytest.raises(FileExistsError, match="already exists"):
        export(model, "ram://bucket/exports/tiny", class_names=["a", "b", "c"])
    tf.io.gfile.remove(f"ram://bucket/exports/tiny/{COMPLETE_FILE}")  # a copy that stopped part-way
    with pytest.raises(ValueError, match="incomplete export"):
        load("ram://bucket/exports/tiny")
