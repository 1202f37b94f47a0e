"""choose_block: prototype accuracy per block on base-class episodes, and the truncated backbone it picks."""

import numpy as np
import pytest

from keras_transfer.fewshot.block_choice import block_features, choose_block
from keras_transfer.fewshot.episodic_evaluation import embed_images
from keras_transfer.models.classifier import build_model
from keras_transfer.testing.tiny import tiny_backbone


def test_block_features_of_the_last_block_are_the_classifiers_pooled_features(shapes_small):
    x, _, _ = shapes_small
    spec = tiny_backbone(32)
    features = block_features(spec, spec.build(32, weights="given"), x[:6])
    assert list(features) == ["block1_conv", "block2_conv"]
    assert features["block1_conv"].shape == (6, 8) and features["block2_conv"].shape == (6, 16)
    reference = embed_images(build_model(spec, 2, weights="given", image_size=32), x[:6])
    np.testing.assert_allclose(features["block2_conv"], reference, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"no block\(s\) \['block7'\].*'block1_conv'"):
        block_features(spec, spec.build(32, weights="given"), x[:2], ["block7"])


def test_a_block_whose_features_say_nothing_loses_to_the_block_before_it(shapes_small):
    x, y, _ = shapes_small
    spec = tiny_backbone(32)
    network = spec.build(32, weights="given")
    conv = network.get_layer("block2_conv")
    conv.set_weights([np.zeros_like(weight) for weight in conv.get_weights()])  # block2 outputs a constant
    choice = choose_block((x, y), backbone=spec, weights="given", image_size=32, n_way=4, k_shot=1, queries=3,
                          episodes=20, seed=0)
    assert set(choice.scores) == {"block1_conv", "block2_conv"} and choice.episodes == 20
    assert choice.scores["block2_conv"].mean == pytest.approx(0.25)  # ties: always the first class
    assert choice.block == "block1_conv" and choice.scores["block1_conv"].mean > 0.4
    assert choice.backbone.name == "tiny_cnn:block1_conv" and choice.backbone.output_block == "block1_conv"
    assert "<- chosen" in str(choice) and choice.to_dataframe()["chosen"].sum() == 1


def test_choose_block_needs_n_way_base_classes(shapes_small):
    x, y, names = shapes_small
    two = np.isin(y, names[:2])
    with pytest.raises(ValueError, match="5-way episodes from the base classes, but base_data has 2 class"):
        choose_block((x[two], y[two]), backbone=tiny_backbone(32), weights="given", image_size=32)


def quadrant_squares(per_class: int = 8, seed: int = 0):
    """4 classes told apart only by where a white square sits (one image quadrant each): a layout task."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, (top, left) in enumerate([(4, 4), (4, 20), (20, 4), (20, 20)]):
        for _ in range(per_class):
            image = rng.integers(0, 40, (32, 32, 3)).astype("uint8")
            dy, dx = rng.integers(-1, 2, 2)
            image[top + dy:top + dy + 8, left + dx:left + dx + 8] = 255
            images.append(image)
            labels.append(label)
    return np.stack(images), np.array(labels)


def test_choose_block_also_chooses_the_pooling_that_keeps_the_layout_when_the_layout_is_the_class(shapes_small):
    x, y = quadrant_squares()
    spec = tiny_backbone(32)
    choice = choose_block((x, y), backbone=spec, weights="given", image_size=32, n_way=4, k_shot=1, queries=3,
                          episodes=20, poolings=("average", "grid"), seed=0)
    assert set(choice.scores_by_pooling) == {"average", "grid"} and choice.pooling == "grid"
    assert choice.scores is choice.scores_by_pooling["grid"] and choice.scores[choice.block].mean == 1.0
    assert choice.scores_by_pooling["average"]["block2_conv"].mean < 0.8
    frame = choice.to_dataframe()
    assert len(frame) == 4 and frame["chosen"].sum() == 1 and set(frame["pooling"]) == {"average", "grid"}
    assert "grid pooling" in str(choice) and "<- chosen (grid pooling)" in str(choice)
    grid = block_features(spec, spec.build(32, weights="given"), x[:6], ["block2_conv"], pooling="grid")
    reference = embed_images(build_model(spec, 2, weights="given", image_size=32), x[:6], pooling="grid")
    np.testing.assert_allclose(grid["block2_conv"], reference, rtol=1e-5, atol=1e-5)
    plain = choose_block(shapes_small[:2], backbone=spec, weights="given", image_size=32, n_way=4, k_shot=1,
                         queries=3, episodes=5, seed=0)  # the default scores average pooling only
    assert plain.pooling == "average" and list(plain.scores_by_pooling) == ["average"]
    with pytest.raises(ValueError, match="pooling must be one of"):
        choose_block((x, y), backbone=spec, weights="given", image_size=32, n_way=4, poolings=("max",))


def test_pooled_block_features_pool_each_map_every_way_in_one_pass(shapes_small):
    from keras_transfer.fewshot.block_choice import pooled_block_features

    x, _, _ = shapes_small
    spec = tiny_backbone(32)
    network = spec.build(32, weights="given")
    tables = pooled_block_features(spec, network, x[:6], poolings=("average", "grid"))
    for pooling in ("average", "grid"):
        single = block_features(spec, network, x[:6], pooling=pooling)
        assert list(tables[pooling]) == list(single) == ["block1_conv", "block2_conv"]
        for block, features in single.items():
            np.testing.assert_allclose(tables[pooling][block], features, rtol=1e-5, atol=1e-5)
    assert tables["grid"]["block1_conv"].shape == (6, 4 * 4 * 8)  # the 16 x 16 map on 4 x 4 cells
