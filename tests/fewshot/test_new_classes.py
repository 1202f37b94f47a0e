"""add_classes(): new classes without touching the others, exact mean updates, on results and reloaded models."""

import keras
import numpy as np
import pytest

import keras_transfer
from keras_transfer.fewshot.episodic_evaluation import embed_images
from keras_transfer.fewshot.new_classes import merged_prototypes
from keras_transfer.fewshot.prototype_head import find_prototype_head
from keras_transfer.serving.loading import load_classifier


def prototypes_of(model):
    head = find_prototype_head(model)
    return head.class_names, keras.ops.convert_to_numpy(head.prototypes), keras.ops.convert_to_numpy(head.counts)


def test_adding_a_class_changes_no_other_prototype(support_result, shapes_small):
    result, _ = support_result
    x, y, names = shapes_small
    new = y == names[3]
    bigger = keras_transfer.add_classes(result, (x[new][:3], y[new][:3]))
    old_names, old, old_counts = prototypes_of(result.model)
    new_names, prototypes, counts = prototypes_of(bigger.model)
    assert new_names == old_names + [names[3]] == bigger.class_names == bigger.config["class_names"]
    np.testing.assert_array_equal(prototypes[:3], old)
    np.testing.assert_array_equal(counts, [*old_counts, 3])
    features = embed_images(result.model, x[new][:3])
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    np.testing.assert_allclose(prototypes[3], unit.mean(0), atol=1e-6)
    assert bigger.metrics == {} and bigger.fit_config.data.class_names == new_names
    assert result.model.output_shape == (None, 3)  # the original is unchanged


def test_more_images_of_a_known_class_update_its_mean_exactly():
    names, prototypes, counts = merged_prototypes(
        ["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([2.0, 1.0]),
        ["b", "c"], np.array([[0.0, 0.0], [0.5, 0.5]]), np.array([3.0, 1.0]))
    assert names == ["a", "b", "c"]
    np.testing.assert_allclose(prototypes, [[1.0, 0.0], [0.0, 0.25], [0.5, 0.5]])
    np.testing.assert_array_equal(counts, [2, 4, 1])
    _, replaced, replaced_counts = merged_prototypes(["a"], np.ones((1, 2)), np.array([5.0]), ["a"],
                                                     np.zeros((1, 2)), np.array([2.0]), replace=True)
    np.testing.assert_array_equal(replaced, np.zeros((1, 2)))
    np.testing.assert_array_equal(replaced_counts, [2])


def test_works_on_an_export_reloaded_with_load_model_and_load_classifier(support_result, shapes_small, tmp_path):
    result, _ = support_result
    x, y, names = shapes_small
    result.model.save(tmp_path / "model.keras")
    reloaded = keras_transfer.load_model(tmp_path / "model.keras")
    new = y == names[3]
    model = keras_transfer.add_classes(reloaded, (x[new][:2], y[new][:2]))
    assert isinstance(model, keras.Model) and find_prototype_head(model).class_names[-1] == names[3]
    np.testing.assert_array_equal(prototypes_of(model)[1][:3], prototypes_of(result.model)[1])
    loaded = keras_transfer.add_classes(load_classifier(tmp_path / "model.keras"), (x[new][:2], y[new][:2]))
    assert loaded.class_names == names[:3] + [names[3]]


def test_a_model_without_prototypes_or_another_object_is_refused(shapes_small):
    x, y, _ = shapes_small
    plain = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no PrototypeHead"):
        keras_transfer.add_classes(plain, (x, y))
    with pytest.raises(TypeError, match="FitResult, a keras.Model or a LoadedClassifier"):
        keras_transfer.add_classes("model.keras", (x, y))
