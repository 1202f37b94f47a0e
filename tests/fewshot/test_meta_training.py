"""meta_train(): the chosen blocks train, a killed run resumes to the same weights, the result is a run."""

import json

import keras
import numpy as np
import pytest

from keras_transfer.fewshot.meta_training import RESUME_DIR, MetaStage, meta_train
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
