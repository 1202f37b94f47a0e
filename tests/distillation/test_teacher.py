"""Teachers as logits: an in-memory classifier's pre-softmax logits, an export's log-probabilities, bad teachers."""

import keras
import numpy as np
import pytest

from keras_transfer.distillation.teacher import load_teacher, pre_softmax_model


def softmax(z, temperature=1.0):
    z = z / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_logits_of_a_model_and_of_an_exported_savedmodel_give_the_same_soft_targets(tiny_teacher, shapes_small,
                                                                                     tmp_path):
    x, _, _ = shapes_small
    pixels = x[:8].astype("float32")
    in_memory = load_teacher(tiny_teacher)
    logits = in_memory.predict_logits(pixels)
    assert in_memory.exact_logits and in_memory.class_names == tiny_teacher.class_names
    np.testing.assert_allclose(softmax(logits), tiny_teacher.model.predict(pixels, verbose=0), atol=1e-6)
    folder = tiny_teacher.export(tmp_path / "teacher", report=False).directory
    (folder / "model.keras").unlink()  # the SavedModel alone: it returns probabilities only
    exported = load_teacher(str(folder))
    assert not exported.exact_logits and exported.model is None and exported.num_classes == 3
    log_probabilities = exported.predict_logits(pixels)
    # Log-probabilities are the logits minus a per-example constant ...
    offsets = logits - log_probabilities
    np.testing.assert_allclose(offsets, offsets[:, :1].repeat(3, axis=1), atol=1e-5)
    # ... which softmax(z / T) ignores: the same soft targets.
    for temperature in (1.0, 4.0):
        np.testing.assert_allclose(softmax(log_probabilities, temperature), softmax(logits, temperature), atol=1e-6)


def test_bad_teachers_say_what_to_give(tmp_path):
    with pytest.raises(ValueError, match="The teacher must be a FitResult, a keras.Model"):
        load_teacher(42)
    with pytest.raises(FileNotFoundError, match="No teacher at"):
        load_teacher(tmp_path / "missing")
    with pytest.raises(ValueError, match="is not a keras_transfer export folder"):
        load_teacher(tmp_path)
    regressor = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="ends in a softmax Dense layer"):
        pre_softmax_model(regressor)
