"""fit_adapted_stages: the plan's backbone stages on images, under the alignment term, through the classifier."""

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.adapted_model import new_domain_head
from keras_transfer.adaptation.training import fit_adapted_stages
from keras_transfer.models.classifier import build_model, get_backbone_layer
from keras_transfer.testing.tiny import tiny_backbone
from keras_transfer.train.stages import Stage


def test_a_dann_backbone_stage_trains_the_top_block_and_the_given_domain_head_only():
    keras.utils.set_random_seed(0)
    spec = tiny_backbone(32)
    classifier = build_model(spec, 3, weights="given", image_size=32, hidden_units=8)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (32, 32, 32, 3)).astype(np.float32)
    labels = keras.utils.to_categorical(np.arange(32) % 3, 3)
    source = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    target = tf.data.Dataset.from_tensor_slices(255 - images[:16]).batch(8)
    domain_head = new_domain_head(4, seed=0)
    domain_head.build((None, 8))
    before = {"backbone": [w.copy() for w in get_backbone_layer(classifier).get_weights()],
              "domain": [w.copy() for w in domain_head.get_weights()], "count": len(classifier.get_weights())}
    staged = fit_adapted_stages(classifier, [Stage("top", epochs=2, learning_rate=1e-2, train_blocks=1)],
                                spec.blocks(get_backbone_layer(classifier)), source, target, "dann",
                                loss="categorical_crossentropy", metrics=["accuracy"], monitor="loss",
                                domain_head=domain_head)
    record = staged.stage_history[0]
    assert record["trainable_blocks"] == ["block2_conv"] and len(record["metrics"]["alignment_loss"]) == 2
    after = get_backbone_layer(classifier).get_weights()
    np.testing.assert_array_equal(after[0], before["backbone"][0])  # block1 frozen
    np.testing.assert_array_equal(after[8], before["backbone"][8])  # block2's BatchNorm stays frozen
    assert staged.kept_stage == "top" and not np.array_equal(after[6], before["backbone"][6])  # block2's kernel
    assert not all(np.array_equal(a, b) for a, b in zip(domain_head.get_weights(), before["domain"]))
    assert len(classifier.get_weights()) == before["count"]  # the domain head stays outside the classifier


def test_a_dann_backbone_stage_builds_its_own_domain_head_before_the_stage_optimizer():
    keras.utils.set_random_seed(0)
    spec = tiny_backbone(32)
    classifier = build_model(spec, 3, weights="given", image_size=32, hidden_units=8)
    images = np.random.default_rng(1).uniform(0, 255, (16, 32, 32, 3)).astype(np.float32)
    source = tf.data.Dataset.from_tensor_slices((images, keras.utils.to_categorical(np.arange(16) % 3, 3))).batch(8)
    target = tf.data.Dataset.from_tensor_slices(255 - images).batch(8)
    staged = fit_adapted_stages(classifier, [Stage("top", epochs=1, learning_rate=1e-2, train_blocks=1)],
                                spec.blocks(get_backbone_layer(classifier)), source, target, "dann",
                                loss="categorical_crossentropy", metrics=["accuracy"], monitor="loss")
    assert len(staged.stage_history[0]["metrics"]["alignment_loss"]) == 1  # no domain head given: made, built, trained
