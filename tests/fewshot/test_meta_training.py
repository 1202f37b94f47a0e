"""meta_train(): the chosen blocks train, a killed run resumes to the same weights, the result is a run."""

import json

import keras
import numpy as np
import pytest

from keras_transfer.fewshot.meta_training import (
    RESUME_DIR,
    MetaStage,
    blended_pairs,
    check_blends,
    meta_train,
    rotated_classes,
    turned_pixels,
)
from keras_transfer.fewshot.prototype_head import find_prototype_head
from keras_transfer.testing.tiny import tiny_backbone

STAGES = [MetaStage("top", episodes=1, train_blocks=1, learning_rate=1e-2),
          MetaStage("all", episodes=2, train_blocks="all", learning_rate=1e-3)]


def run(shapes_small, output_dir, **options):
    x, y, _ = shapes_small
    return meta_train((x, y), backbone=tiny_backbone(32), weights="given", image_size=32, n_way=3, k_shot=2,
                      queries=2, stages=STAGES, output_dir=str(output_dir), checkpoint_every=1, **options)


def backbone_weights(result):
    return [keras.ops.convert_to_numpy(w) for w in result.model.get_layer("backbone").weights]


class Killed(Exception):
    pass


def test_meta_training_trains_the_chosen_blocks_and_resumes_exactly(shapes_small, tmp_path):
    start = [keras.ops.convert_to_numpy(w) for w in tiny_backbone(32).user_model.weights]
    whole = run(shapes_small, tmp_path / "whole")
    record = whole.method_record["meta_training"]
    assert record["episodes"] == 3 and [h["episodes_run"] for h in whole.history] == [1, 2]
    assert whole.history[0]["trainable_blocks"] == ["block2"]
    assert find_prototype_head(whole.model).class_names == whole.class_names
    assert whole.config["method"] == "prototypes" and whole.config["weights"].endswith("meta_backbone.weights.h5")
    assert any(not np.array_equal(a, b) for a, b in zip(start, backbone_weights(whole)))

    def kill_at_last(episode, loss, accuracy):
        if episode == 3:
            raise Killed

    with pytest.raises(Killed):  # killed inside the second stage: its optimizer state must go on too
        run(shapes_small, tmp_path / "killed", on_episode=kill_at_last)
    state = json.loads((tmp_path / "killed" / RESUME_DIR / "state.json").read_text())
    assert state["episode"] == 2  # the checkpoint of the third episode was never written
    resumed = run(shapes_small, tmp_path / "killed", resume=True)
    for a, b in zip(backbone_weights(whole), backbone_weights(resumed)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert [len(h["metrics"]["episode_loss"]) for h in resumed.history] == [1, 2]
    report = resumed.report(tmp_path / "report.html")  # the summary and the report read the stage history
    assert "all" in resumed.summary() and report.read_text(encoding="utf-8").startswith("<!")


def test_resume_needs_the_folder_and_the_same_stages(shapes_small, tmp_path):
    with pytest.raises(ValueError, match="give output_dir"):
        x, y, _ = shapes_small
        meta_train((x, y), backbone=tiny_backbone(32), resume=True)
    with pytest.raises(ValueError, match="Nothing to resume"):
        run(shapes_small, tmp_path / "empty", resume=True)


def test_grid_pooled_meta_training_trains_and_ends_in_the_grid_embedding(shapes_small, tmp_path):
    x, y, _ = shapes_small
    start = tiny_backbone(32)
    before = [keras.ops.convert_to_numpy(w) for w in start.user_model.weights]
    result = meta_train((x, y), backbone=start, weights="given", image_size=32, n_way=3, k_shot=2, queries=2,
                        pooling="grid", stages=[MetaStage("all", episodes=2, train_blocks="all", learning_rate=1e-2)],
                        output_dir=str(tmp_path / "grid"))
    assert find_prototype_head(result.model).prototypes.shape[1] == 4 * 4 * 16  # the 8 x 8 map on 4 x 4 cells
    assert result.config["method_options"]["pooling"] == "grid"
    assert any(not np.array_equal(a, b) for a, b in zip(before, backbone_weights(result)))
    with pytest.raises(ValueError, match="pooling must be one of"):
        meta_train((x, y), backbone=tiny_backbone(32), weights="given", image_size=32, pooling="max")


def test_rotated_classes_name_each_turn_of_each_image():
    images = np.arange(2 * 2 * 3 * 1, dtype="uint8").reshape(2, 2, 3, 1)  # not square: 180 degrees only
    labels = rotated_classes(np.array([0, 1]), 2, 2)
    np.testing.assert_array_equal(labels, [0, 1, 2, 3])  # image 0 upright, 1 upright, 0 turned, 1 turned
    pixels = turned_pixels(images, np.array([1, 2]), 2)
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels[0], images[1])
    np.testing.assert_array_equal(pixels[1], images[0][::-1, ::-1])
    square = np.arange(3 * 3, dtype="uint8").reshape(1, 3, 3, 1)
    for turn in range(4):  # index 0 + turn * 1 image is the image turned turn quarter turns
        np.testing.assert_array_equal(turned_pixels(square, np.array([turn]), 4)[0], np.rot90(square[0], turn))


def test_rotated_meta_training_draws_episodes_from_every_turn_and_keeps_upright_classes(shapes_small, tmp_path):
    x, y, names = shapes_small
    stages = [MetaStage("all", episodes=2, train_blocks="all", learning_rate=1e-2)]
    options = dict(backbone=tiny_backbone(32), weights="given", image_size=32, k_shot=2, queries=2, stages=stages,
                   output_dir=str(tmp_path / "turned"), checkpoint_every=1)
    with pytest.raises(ValueError, match="8-way episodes"):  # four classes as they are: too few for 8-way
        meta_train((x, y), n_way=8, **options)
    result = meta_train((x, y), n_way=8, rotations=4, **options)  # 16 classes with the turns
    assert result.method_record["meta_training"]["rotations"] == 4
    assert result.class_names == sorted(names) and find_prototype_head(result.model).prototypes.shape[0] == 4
    with pytest.raises(ValueError, match="rotations=4"):
        meta_train((x, y), n_way=8, rotations=1, resume=True, **options)
    with pytest.raises(ValueError, match="use 1 .* 2 .* or 4"):
        meta_train((x, y), rotations=3, **options)
    with pytest.raises(ValueError, match="needs a square input"):
        meta_train((x, y), backbone=tiny_backbone(32), weights="given", image_size=(32, 48), rotations=4)


def test_blended_classes_pair_one_image_of_each_class_and_average_their_pixels():
    labels = np.array([0, 0, 0, 1, 1, 2])
    pairs, pair_labels = blended_pairs(labels, 3, seed=0)
    np.testing.assert_array_equal(pair_labels, [3, 3, 4, 5])  # (0, 1) twice, (0, 2) once, (1, 2) once
    for (first, second), expected in zip(pairs, [(0, 1), (0, 1), (0, 2), (1, 2)]):
        assert (labels[first], labels[second]) == expected
    assert len(set(pairs[:2, 0])) == 2 and len(set(pairs[:2, 1])) == 2  # no image twice in a blended class
    np.testing.assert_array_equal(pairs, blended_pairs(labels, 3, seed=0)[0])  # seeded
    images = np.arange(6 * 2 * 3 * 1, dtype="uint8").reshape(6, 2, 3, 1) * 3
    mean = (images[pairs[0, 0]].astype("float32") + images[pairs[0, 1]]) / 2
    np.testing.assert_array_equal(turned_pixels(images, np.array([6]), 1, pairs)[0], mean)  # first blend
    np.testing.assert_array_equal(turned_pixels(images, np.array([5]), 1, pairs)[0], images[5])  # last image
    upright = len(images) + len(pairs)  # turn r of upright position p is index p + r * upright
    np.testing.assert_array_equal(turned_pixels(images, np.array([upright + 6]), 2, pairs)[0], mean[::-1, ::-1])
    np.testing.assert_array_equal(rotated_classes(np.concatenate([labels, pair_labels]), 6, 2)[upright + 6], 9)


def test_blended_meta_training_draws_episodes_from_class_pairs_and_keeps_the_base_classes(shapes_small, tmp_path):
    x, y, names = shapes_small
    stages = [MetaStage("all", episodes=2, train_blocks="all", learning_rate=1e-2)]
    options = dict(backbone=tiny_backbone(32), weights="given", image_size=32, k_shot=2, queries=2, stages=stages,
                   output_dir=str(tmp_path / "blended"), checkpoint_every=1)
    result = meta_train((x, y), n_way=8, blends=True, **options)  # 4 classes + 6 pairs: 8-way needs the pairs
    assert result.method_record["meta_training"]["blends"] is True
    assert result.class_names == sorted(names) and find_prototype_head(result.model).prototypes.shape[0] == 4
    with pytest.raises(ValueError, match="blends=True"):
        meta_train((x, y), n_way=8, resume=True, **options)
    with pytest.raises(ValueError, match="use True .* or False"):
        meta_train((x, y), blends="yes", **options)
    with pytest.raises(ValueError, match="210 for 21 classes.*pass blends=False"):
        check_blends(True, 21)
    check_blends(True, 20)
