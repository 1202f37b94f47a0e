"""How a run's backbone is written into its config and read back: truncated backbones keep their block."""

import numpy as np

from keras_transfer.models.backbone_records import record_backbone, resolve_recorded_backbone
from keras_transfer.models.backbones import get_backbone
from keras_transfer.testing.tiny import tiny_backbone


def test_a_truncated_registry_backbone_is_recorded_by_its_name():
    spec = get_backbone("mobilenet:block9")
    assert record_backbone(spec, None) == "mobilenet:block9"
    assert resolve_recorded_backbone("mobilenet:block9") == spec


def test_a_truncated_custom_backbone_is_saved_whole_and_read_back_cut_at_the_same_block(tmp_path):
    spec = tiny_backbone(32).truncated("block1_conv")
    record = record_backbone(spec, tmp_path)
    assert record["output_block"] == "block1_conv" and record["name"] == "tiny_cnn:block1_conv"
    again = resolve_recorded_backbone(record)
    assert again.name == spec.name and again.output_block == "block1_conv"
    pixels = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    ours, theirs = spec.build(32, weights="given"), again.build(32, weights="given")
    assert ours.output_shape == theirs.output_shape == (None, 16, 16, 8)
    np.testing.assert_allclose(np.asarray(ours(pixels)), np.asarray(theirs(pixels)), atol=1e-6)
