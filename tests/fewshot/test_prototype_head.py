"""PrototypeHead: the class means, the nearest-prototype rule (numpy reference), serialisation, bad input."""

import keras
import numpy as np
import pytest

from keras_transfer.fewshot.prototype_head import (
    PrototypeHead,
    check_distance,
    class_means,
    find_prototype_head,
    prototype_classifier,
    prototype_logits,
)
from keras_transfer.models.classifier import load_model


def test_class_means_are_per_class_means_of_normalised_features():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(9, 6)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1])
    prototypes, counts = class_means(features, labels, 4)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    for c in range(3):
        np.testing.assert_allclose(prototypes[c], unit[labels == c].mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(counts, [4, 3, 2, 0])
    np.testing.assert_array_equal(prototypes[3], np.zeros(6))
    with pytest.raises(ValueError, match="class indices"):
        class_means(features, labels + 2, 3)


@pytest.mark.parametrize("distance", ["cosine", "euclidean"])
def test_head_predicts_the_nearest_prototype_like_numpy(distance):
    rng = np.random.default_rng(1)
    prototypes = rng.normal(size=(4, 8)).astype("float32")
    prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True) * 1.5  # means are shorter than unit vectors
    queries = rng.normal(size=(32, 8)).astype("float32")
    head = PrototypeHead(["a", "b", "c", "d"], distance=distance, scale=3.0)
    head.build((None, 8))
    head.set_prototypes(prototypes, [1, 1, 1, 1])
    probabilities = keras.ops.convert_to_numpy(head(queries))
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    if distance == "cosine":
        reference = unit @ (prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True)).T
    else:
        reference = -((unit[:, None, :] - prototypes[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(probabilities.argmax(1), reference.argmax(1))
    logits = prototype_logits(queries, prototypes, distance, scale=3.0)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(1, keepdims=True), atol=1e-5)


def test_prototype_classifier_saves_and_loads_in_safe_mode(tmp_path):
    inputs = keras.Input((5,))
    features = keras.Model(inputs, keras.layers.Dense(4, name="dense")(inputs))
    prototypes = np.eye(3, 4, dtype="float32")
    model = prototype_classifier(features, prototypes, [2, 1, 3], ["x", "y", "z"], distance="euclidean")
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    head = find_prototype_head(loaded)
    assert (head.class_names, head.distance) == (["x", "y", "z"], "euclidean")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head.prototypes), prototypes)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head.counts), [2, 1, 3])
    probe = np.random.default_rng(2).normal(size=(6, 5)).astype("float32")
    np.testing.assert_allclose(loaded.predict(probe, verbose=0), model.predict(probe, verbose=0), atol=1e-6)


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="distance must be one of"):
        check_distance("manhattan")
    with pytest.raises(ValueError, match="at least 2 classes"):
        PrototypeHead(["only"])
    with pytest.raises(ValueError, match="unique"):
        PrototypeHead(["a", "a"])
    head = PrototypeHead(["a", "b"])
    head.build((None, 3))
    with pytest.raises(ValueError, match="shape"):
        head.set_prototypes(np.zeros((3, 3)), [1, 1, 1])
    with pytest.raises(ValueError, match="no PrototypeHead"):
        find_prototype_head(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]))
