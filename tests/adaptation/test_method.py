"""build_and_fit(data, target_data=..., adaptation=...): a plain classifier, both models scored, the choice made."""

import numpy as np
import pytest

from keras_transfer import FitConfig, build_and_fit
from keras_transfer.adaptation.method import adaptation_config
from keras_transfer.cli.fit_options import config_arguments
from keras_transfer.cli.main import build_parser
from keras_transfer.testing.tiny import tiny_backbone


def test_an_adapted_run_exports_a_plain_classifier_and_records_both_models_on_the_target(shapes_arrays, tmp_path):
    x, y, _ = shapes_arrays
    source, target = slice(0, 120, 2), slice(1, 120, 2)  # disjoint halves; the target is the negative image
    shifted = (255 - x[target]).astype(np.uint8)
    backbone = tiny_backbone(32)
    loaded = [weights.copy() for weights in backbone.constructor().get_weights()]
    plan = [{"name": "head", "epochs": 1}, {"name": "top", "epochs": 2, "train_blocks": 1, "learning_rate": 1e-3}]
    result = build_and_fit((x[source], y[source]), backbone=backbone, weights="given", image_size=32,
                           target_data=shifted, adaptation="mmd", target_test_data=(shifted, y[target]),
                           method_options={"bottleneck": 16, "epochs": 2}, batch_size=16, verbose=0,
                           augmentation=None, validation_split=0, stages=plan)
    assert result.config["method"] == "domain_adaptation" and result.config["adaptation"] == "mmd"
    assert result.config["target_data"] == "<ndarray>" and result.config["target_test_data"] == "<tuple>"
    names = [layer.name for layer in result.model.layers]
    assert "head_hidden" in names and not any("domain" in name or "reversal" in name for name in names)
    assert result.model.output_shape == (None, 3)
    domain = result.method_record["domain"]
    assert set(domain["target_accuracy"]) == {"source_only", "adapted"}
    images = domain["target_accuracy"]["adapted"]["images"]
    assert images["selection"] + images["report"] == 60 and images["selection"] >= 27
    assert domain["kept"] in ("adapted", "source_only") and domain["criterion"] == "target selection split"
    better = max(("adapted", "source_only"), key=lambda role: (domain["target_accuracy"][role]["selection"],
                                                               role == "adapted"))
    assert domain["kept"] == better
    assert set(domain["shift"]) == {"pooled backbone features", "source_only bottleneck", "adapted bottleneck"}
    assert all(0 <= record["a_distance"] <= 2 for record in domain["shift"].values())
    # The plan's backbone stage ran for both models, under the alignment for the adapted one; the head step's
    # epochs come first. Only the top block trained: block1 is as loaded, block2 moved in the kept model iff
    # the kept stage is the backbone stage (its best-stage rule chose it on the training loss).
    assert [record["name"] for record in result.history] == ["source_only", "source_only:top", "adapt_mmd",
                                                             "adapt_mmd:top"]
    assert domain["backbone_stages"] == ["top"] and result.history[1]["trainable_blocks"] == ["block2_conv"]
    assert result.history[1]["first_epoch"] == 2 and "alignment_loss" in result.history[3]["metrics"]
    backbone_weights = result.model.get_layer("backbone").get_weights()
    np.testing.assert_array_equal(backbone_weights[0], loaded[0])  # block1's kernel
    kept_stage = domain["kept_stage"][domain["kept"]]
    assert kept_stage in {"source_only", "source_only:top", "adapt_mmd", "adapt_mmd:top"}
    top_moved = not all(np.array_equal(a, b) for a, b in zip(backbone_weights[6:8], loaded[6:8]))
    assert top_moved == kept_stage.endswith(":top")
    page = result.report(tmp_path / "report.html").read_text()
    assert 'id="domain-table"' in page and 'id="domain-embedding-plot"' in page
    assert FitConfig.from_dict(result.config).training.adaptation == "mmd"


def test_adaptation_options_are_checked_before_training_and_are_fit_flags():
    arrays = (np.zeros((4, 8, 8, 3), np.uint8), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="give adaptation="):
        build_and_fit(arrays, target_data=arrays[0], verbose=0)
    with pytest.raises(ValueError, match="Unknown adaptation 'adda'"):
        build_and_fit(arrays, target_data=arrays[0], adaptation="adda", verbose=0)
    with pytest.raises(ValueError, match="runs method 'domain_adaptation', not 'linear_probe'"):
        build_and_fit(arrays, target_data=arrays[0], adaptation="dann", method="linear_probe", verbose=0)
    config = adaptation_config(FitConfig.from_arguments(data=arrays, target_data=arrays[0], adaptation="coral"))
    assert config.training.method == "domain_adaptation"
    args = build_parser().parse_args(["fit", "photos", "-o", "out", "--target-data", "scans",
                                      "--adaptation", "dann", "--target-test-data", "labelled_scans"])
    chosen = config_arguments(args)
    assert chosen["adaptation"] == "dann" and chosen["target_data"].endswith("scans")
    assert chosen["target_test_data"].endswith("labelled_scans")
