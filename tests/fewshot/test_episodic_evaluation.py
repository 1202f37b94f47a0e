"""Episodic evaluation: the CI formula, per-episode accuracies against numpy, the fine-tuner's reset."""

import keras
import numpy as np
import pytest

from keras_transfer.fewshot.episodic_evaluation import (
    EpisodeFineTuner,
    confidence_interval,
    evaluate_episodes,
    prototype_accuracy,
)
from keras_transfer.fewshot.sampling import episodes


def test_confidence_interval_is_196_standard_errors():
    values = np.array([0.2, 0.4, 0.6, 0.9])
    mean, half = confidence_interval(values)
    assert mean == pytest.approx(values.mean())
    assert half == pytest.approx(1.959964 * values.std(ddof=1) / 2)
    assert confidence_interval([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match="at least one episode"):
        confidence_interval([])


def test_scores_on_cached_features_match_a_numpy_nearest_mean():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 10)
    features = rng.normal(size=(40, 6)).astype("float32") + 3 * np.eye(4, 6)[labels]
    tasks = episodes(labels, n_way=3, k_shot=2, queries=4, episodes=8, seed=1)
    for task in tasks[:5]:
        unit = features / np.linalg.norm(features, axis=1, keepdims=True)
        means = np.stack([unit[task.support[task.support_labels == c]].mean(0) for c in range(3)])
        means /= np.linalg.norm(means, axis=1, keepdims=True)
        expected = np.mean((unit[task.query] @ means.T).argmax(1) == task.query_labels)
        assert prototype_accuracy(features, task) == pytest.approx(expected)
    scores = evaluate_episodes(None, (None, labels), tasks, methods=("prototypes", "linear_probe"),
                               features=features)
    assert set(scores) == {"prototypes", "linear_probe"}
    for score in scores.values():
        assert len(score.accuracies) == 8 and 0.5 < score.mean <= 1.0
        assert score.to_dict()["ci95"] == pytest.approx(confidence_interval(score.accuracies)[1])
    with pytest.raises(ValueError, match="Unknown episodic method"):
        evaluate_episodes(None, (None, labels), tasks, methods=("knn",), features=features)


def test_fine_tuner_resets_weights_and_optimizer_between_episodes(support_result, shapes_small):
    result, _ = support_result
    x, y, names = shapes_small
    labels = np.array([names.index(name) for name in y])
    task = episodes(labels, n_way=3, k_shot=2, queries=2, episodes=1, seed=0)[0]
    tuner = EpisodeFineTuner(result.model, 3, steps=3, learning_rate=1e-2, blocks=1)
    before = [keras.ops.convert_to_numpy(v) for v in tuner.model.weights]
    first = tuner.accuracy(x, task)
    changed = [keras.ops.convert_to_numpy(v) for v in tuner.model.weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, changed))
    assert tuner.accuracy(x, task) == first  # the same start gives the same run
    tuner.reset()
    for variable, value in zip(tuner.model.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    assert float(tuner.model.optimizer.learning_rate) == pytest.approx(1e-2)
    trainable = {w.path for w in tuner.model.trainable_weights}
    assert any("episode_head" in path for path in trainable) and not any("block1" in p for p in trainable)
