"""held_out_classes() and meta_train(held_out_data=): meta-training is judged on classes it never saw, and the
better backbone is kept."""

import keras
import numpy as np
import pytest

from keras_transfer.fewshot import held_out_classes as held_out_module
from keras_transfer.fewshot.episodic_evaluation import embed_images, prototype_accuracy
from keras_transfer.fewshot.held_out_classes import held_out_classes
from keras_transfer.fewshot.meta_training import START_WEIGHTS, MetaStage, meta_train
from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone


def split(shapes_small, base_names, held_names):
    x, y, _ = shapes_small
    base, held = np.isin(y, base_names), np.isin(y, held_names)
    return (x[base], y[base]), (x[held], y[held])


def test_episodes_are_one_shot_over_the_held_out_classes_and_the_score_is_their_mean(shapes_small):
    x, y, names = shapes_small
    _, held = split(shapes_small, names[:2], names[2:])
    check = held_out_classes(held, names[:2], (32, 32), n_way=5, episodes=6, seed=0)
    assert check.class_names == sorted(names[2:]) and len(check.tasks) == 6
    assert all(task.n_way == 2 and len(task.support) == 2 for task in check.tasks)  # fewer ways than 5: 2 classes
    assert check.describe()["queries"] == 7  # 8 images a class: 1 support, the other 7 as queries
    model = build_model(tiny_backbone(32), 2, weights="given", image_size=32)
    features = embed_images(model, check.images)
    expected = np.mean([prototype_accuracy(features, task, "cosine") for task in check.tasks])
    assert check.accuracy(model, "cosine") == pytest.approx(expected)


def test_shared_classes_one_class_or_one_image_are_refused_with_the_fix(shapes_small):
    x, y, names = shapes_small
    _, held = split(shapes_small, names[:2], names[1:])
    with pytest.raises(ValueError, match=r"also in the base data: give other classes"):
        held_out_classes(held, names[:2], (32, 32), n_way=2, episodes=2, seed=0)
    _, one_class = split(shapes_small, names[:2], names[3:])
    with pytest.raises(ValueError, match="held_out_data: .*at least two"):
        held_out_classes(one_class, names[:2], (32, 32), n_way=2, episodes=2, seed=0)
    lonely = np.concatenate([np.flatnonzero(y == names[2])[:1], np.flatnonzero(y == names[3])])
    with pytest.raises(ValueError, match="at least 2 images"):
        held_out_classes((x[lonely], y[lonely]), names[:2], (32, 32), n_way=2, episodes=2, seed=0)


def run(shapes_small, tmp_path, **options):
    _, _, names = shapes_small
    base, held = split(shapes_small, names[:2], names[2:])
    return meta_train(base, backbone=tiny_backbone(32), weights="given", image_size=32, n_way=2, k_shot=2, queries=2,
                      stages=[MetaStage("all", episodes=2, train_blocks="all", learning_rate=1e-2)],
                      output_dir=str(tmp_path), held_out_data=held, held_out_episodes=10, verbose=0, **options)


def backbone_weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.get_layer("backbone").weights]


def test_meta_training_that_hurts_the_held_out_classes_keeps_the_start_and_warns(shapes_small, tmp_path,
                                                                                 monkeypatch, capsys):
    scores = iter([0.9, 0.5])  # the start, then the meta-trained backbone
    monkeypatch.setattr(held_out_module.HeldOutClasses, "accuracy", lambda self, model, distance: next(scores))
    result = run(shapes_small, tmp_path)
    record = result.method_record["meta_training"]
    assert record["held_out"]["start_accuracy"] == 0.9 and record["held_out"]["meta_trained_accuracy"] == 0.5
    assert record["held_out"]["kept"] == "start" and record["kept_weights"].endswith(START_WEIGHTS)
    start = [keras.ops.convert_to_numpy(w) for w in tiny_backbone(32).user_model.weights]
    for kept, original in zip(backbone_weights(result.model), start):
        np.testing.assert_array_equal(kept, original)
    assert any("Meta-training hurt" in warning and "starting backbone is kept" in warning
               for warning in result.warnings)
    assert "WARNING: Meta-training hurt" in capsys.readouterr().out  # said even with verbose=0
    assert result.config["weights"].endswith(START_WEIGHTS)  # the config reruns the kept model


def test_meta_training_that_helps_is_kept_and_the_record_says_why(shapes_small, tmp_path):
    result = run(shapes_small, tmp_path)
    check = result.method_record["meta_training"]["held_out"]
    assert 0.0 <= check["start_accuracy"] <= 1.0 and 0.0 <= check["meta_trained_accuracy"] <= 1.0
    helped = check["meta_trained_accuracy"] >= check["start_accuracy"]
    assert check["kept"] == ("meta_trained" if helped else "start")
    assert result.method_record["meta_training"]["kept_weights"] == (
        result.method_record["meta_training"]["backbone_weights"] if helped else str(tmp_path / START_WEIGHTS))
    assert not helped or not result.warnings


def test_held_out_data_needs_pretrained_weights(shapes_small, tmp_path):
    with pytest.raises(ValueError, match="weights=None starts from random weights"):
        run_random = meta_train  # the check comes before any image is read
        run_random(shapes_small[:2], backbone=tiny_backbone(32), weights=None, held_out_data=shapes_small[:2])
