"""The adapted training model: its step sees a source and a target batch, and alignment helps on a shifted pair."""

import keras
import numpy as np
import pytest

from keras_transfer.adaptation.adapted_model import AdaptedHead, bottleneck_head, check_adaptation, paired_dataset
from keras_transfer.adaptation.method import features_accuracy
from keras_transfer.adaptation.training import fit_adapted_head


def feature_classifier(width=8, classes=2, units=16, seed=0):
    """A classifier from pooled features, with the layer names `build_model` gives its head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((width,))
    x = keras.layers.Identity(name="features")(inputs)
    x = keras.layers.Dropout(0.0, name="head_dropout")(x)
    x = keras.layers.Dense(units, activation="relu", name="head_hidden")(x)
    x = keras.layers.Dropout(0.0, name="head_hidden_dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax", name="predictions")(x))


def shifted_pair(count=512):
    """Two classes apart along feature 0; the target is the same draw shifted by +2 along features 0 and 1.

    A classifier of the source thresholds feature 0 and calls most target images class 1; features 0 - 1 separate
    both domains alike, and aligning the bottleneck's distributions finds them.
    """
    def draw(seed):
        rng = np.random.default_rng(seed)
        labels = np.arange(count) % 2
        features = rng.normal(0, 0.3, (count, 8)).astype(np.float32)
        features[:, 0] += 2 * labels - 1
        return features, labels

    source, source_labels = draw(0)
    target, target_labels = draw(1)
    target[:, :2] += 2.0
    return source, source_labels, target, target_labels


def test_mmd_alignment_and_minimum_class_confusion_beat_source_only_on_a_shifted_pair():
    source, labels, target, target_labels = shifted_pair()
    accuracies = {}
    for adaptation in (None, "mmd", "mcc"):
        classifier = feature_classifier()
        record = fit_adapted_head(classifier, (source, keras.utils.to_categorical(labels, 2)), target, adaptation,
                                  loss="categorical_crossentropy", metrics=["accuracy"], epochs=4,
                                  learning_rate=1e-2, batch_size=32, seed=0)
        accuracies[adaptation] = features_accuracy(classifier, target, target_labels)
        assert record["metrics"]["accuracy"][-1] > 0.95  # both learn the source
    assert accuracies[None] < 0.7 and accuracies["mmd"] > 0.9 and accuracies["mcc"] > 0.9, accuracies


def test_the_step_reads_both_batches_and_the_domain_head_stays_outside_the_classifier():
    source, labels, target, _ = shifted_pair(64)
    classifier = feature_classifier()
    weights_before = [w.copy() for w in classifier.get_weights()]
    record = fit_adapted_head(classifier, (source, keras.utils.to_categorical(labels, 2)), target, "dann",
                              loss="categorical_crossentropy", metrics=["accuracy"], epochs=2, batch_size=16)
    assert record["name"] == "adapt_dann" and len(record["metrics"]["alignment_loss"]) == 2
    assert 0.3 < record["metrics"]["alignment_loss"][0] < 1.0  # binary cross-entropy of the domain head
    assert any(not np.allclose(a, b) for a, b in zip(weights_before, classifier.get_weights()))
    assert len(classifier.get_weights()) == len(weights_before)  # no domain head inside the classifier
    head = bottleneck_head(classifier)
    bottleneck, probabilities = head.predict(source[:3], verbose=0)
    assert bottleneck.shape == (3, 16)
    np.testing.assert_allclose(probabilities, classifier.predict(source[:3], verbose=0), atol=1e-6)


def test_pairs_and_errors():
    dataset, steps = paired_dataset(np.zeros((10, 4), np.float32), np.zeros((10, 2), np.float32),
                                    np.ones((6, 4), np.float32), batch_size=8)
    (source, labels), target = next(iter(dataset))
    assert source.shape == (6, 4) and labels.shape == (6, 2) and target.shape == (6, 4) and steps == 2
    with pytest.raises(ValueError, match="one of them is empty"):
        paired_dataset(np.zeros((0, 4)), np.zeros((0, 2)), np.ones((6, 4)), 8)
    with pytest.raises(ValueError, match="Unknown adaptation 'adda'"):
        check_adaptation("adda")
    without_bottleneck = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="predictions")])
    with pytest.raises(ValueError, match="hidden_units="):
        bottleneck_head(without_bottleneck)
    with pytest.raises(ValueError, match="Unknown adaptation"):
        AdaptedHead(bottleneck_head(feature_classifier()), "wasserstein")
