"""rank_backbones: one feature pass per candidate, every score, a table that ranks; backbone='auto' uses it."""

import json

import keras
import numpy as np
import pytest

from keras_transfer import Candidate, build_and_fit, rank_backbones
from keras_transfer.cli.main import main
from keras_transfer.ranking.rank import auto_scores
from keras_transfer.testing.tiny import tiny_backbone


@pytest.fixture
def zoo():
    return [Candidate(tiny_backbone(32, widths=(8, 16), seed=0), "given", label="tiny_a"),
            Candidate(tiny_backbone(32, widths=(4,), seed=5), "given", label="tiny_b")]


def test_the_table_scores_ranks_and_describes_every_candidate(shapes_arrays, zoo):
    x, y, names = shapes_arrays
    head = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(4, "softmax")])
    zoo[0].source_classifier = head
    table = rank_backbones((x, y), zoo, image_size=32, class_names=names, verbose=0)
    assert [row.name for row in table.rows] == ["tiny_a", "tiny_b"]
    assert set(table.score_names) == {"logme", "nleep", "hscore", "leep", "knn", "linear_probe"}
    assert table.rows[0].scores["leep"] is not None and table.rows[1].scores["leep"] is None
    assert any("LEEP: no source classifier" in note for note in table.rows[1].notes)
    assert table.images == 96 and table.rows[0].image_size == (32, 32) and table.rows[0].feature_dim == 16
    frame = table.to_dataframe()
    assert list(frame.index) == ["tiny_a", "tiny_b"] and {"logme", "logme_rank", "seconds"} <= set(frame.columns)
    assert sorted(table.ranks("logme").values()) == [1, 2] and table.best() in ("tiny_a", "tiny_b")
    assert "Backbone ranking on 96 train images (trust logme" in repr(table)
    assert json.loads(json.dumps(table.to_dict()))["rows"][0]["name"] == "tiny_a"
    cost = table.rows[0].cost  # the shared feature pass, then each score's own seconds
    assert list(cost) == ["features", *table.score_names] and all(value >= 0 for value in cost.values())
    assert table.rows[0].seconds_for(["logme"]) == pytest.approx(cost["features"] + cost["logme"])
    assert table.rows[0].seconds_for(table.score_names) <= table.rows[0].seconds
    assert table.to_dict()["rows"][1]["cost"] == table.rows[1].cost
    assert table.plot() is not None
    everything = rank_backbones((x, y), zoo[:1], image_size=32, split="train+validation", scores=["logme"],
                                verbose=0)
    assert everything.images == 120 and everything.split == "train+validation"


def test_bad_requests_say_what_to_do(shapes_arrays, zoo):
    x, y, _ = shapes_arrays
    with pytest.raises(ValueError, match=r"Unknown score\(s\) \['magic'\]"):
        rank_backbones((x, y), zoo, scores=["magic"], verbose=0)
    with pytest.raises(ValueError, match="split must be"):
        rank_backbones((x, y), zoo, split="test", verbose=0)
    with pytest.raises(ValueError, match="Give at least one candidate"):
        rank_backbones((x, y), [], verbose=0)
    with pytest.raises(ValueError, match="backbone='auto' ranks candidates: give candidates="):
        build_and_fit((x, y), backbone="auto", verbose=0)


def test_backbone_auto_fine_tunes_the_best_and_records_the_ranking(shapes_arrays, zoo, tmp_path):
    x, y, _ = shapes_arrays
    result = build_and_fit((x, y), backbone="auto", candidates=zoo, image_size=32, epochs=1, verbose=0)
    ranking = result.ranking
    best = max(ranking["rows"], key=lambda row: row["scores"]["logme"])["name"]
    assert result.backbone.name == "tiny_cnn" and ranking["trusted"] == "logme"
    assert result.config["candidates"][0]["label"] == "tiny_a" and result.timings["ranking"] > 0
    assert best in {"tiny_a", "tiny_b"}
    assert list(ranking["rows"][0]["scores"]) == list(auto_scores("logme")) == ["logme", "knn"]
    expected_blocks = 2 if best == "tiny_a" else 1
    assert len(result.history[-1]["trainable_blocks"]) == expected_blocks
    report = result.report(tmp_path / "report.html").read_text()
    assert 'id="ranking-table"' in report and "tiny_b" in report


def test_the_rank_command_prints_the_table_and_writes_json(shapes_folder, tmp_path, capsys, vgg16_weights):
    out = tmp_path / "ranking.json"
    status = main(["rank", str(shapes_folder), "--candidates", f"vgg16:{vgg16_weights},vgg16:none",
                   "--image-size", "32", "--scores", "logme,hscore", "--json", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0 and "best by logme: vgg16:" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [row["name"] for row in rows] == ["vgg16:file", "vgg16:random"]
    pretrained, random = (row["scores"]["logme"] for row in rows)
    assert np.isfinite(pretrained) and np.isfinite(random)
