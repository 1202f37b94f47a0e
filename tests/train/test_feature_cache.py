"""Cached features: training the head on them gives the head that training through the frozen backbone gives."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.data.pipeline import make_dataset
from keras_transfer.data.sources import from_arrays
from keras_transfer.models.classifier import build_model
from keras_transfer.train.feature_cache import (
    even_batch_size,
    extract_features,
    feature_model,
    fit_head_on_features,
    head_model,
    run_padded,
)
from keras_transfer.train.optimizers import make_optimizer
from keras_transfer.train.stages import Stage


def _pretrained_vgg(weights, seed=0):
    keras.utils.set_random_seed(seed)
    return build_model("vgg16", 3, weights=weights, image_size=32, dropout=0.0)


def test_head_trained_on_cached_features_matches_training_through_the_frozen_backbone(vgg16_weights, shapes_arrays):
    x, y, _ = shapes_arrays
    spec = from_arrays(x[:64], y[:64])
    stage = Stage("head", epochs=3, learning_rate=1e-3, schedule="constant", patience=None, weight_decay=0.0)
    loss = keras.losses.CategoricalCrossentropy()

    through_backbone = _pretrained_vgg(vgg16_weights)
    through_backbone.compile(optimizer=make_optimizer(stage, 4), loss=loss)
    data = make_dataset(spec, (32, 32), 16, training=True, shuffle=False, cache=False)
    through_backbone.fit(data, epochs=3, verbose=0)

    on_features = _pretrained_vgg(vgg16_weights)
    features = extract_features(on_features, spec, (32, 32), batch_size=16)
    fit_head_on_features(on_features, features, None, stage, loss=loss, metrics=[], batch_size=16,
                         shuffle=False, verbose=0)

    expected = through_backbone.get_layer("predictions").get_weights()
    got = on_features.get_layer("predictions").get_weights()
    for want, have in zip(expected, got):
        np.testing.assert_allclose(have, want, rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(  # the backbone is untouched
        on_features.get_layer("backbone").get_weights()[0], through_backbone.get_layer("backbone").get_weights()[0])


def test_features_views_and_shared_head_layers(vgg16_weights, shapes_arrays, counted_spec):
    from keras_transfer.data.augmentation import Augmentation

    x, y, _ = shapes_arrays
    model = _pretrained_vgg(vgg16_weights)
    spec, reads = counted_spec(x[:10], y[:10])
    features, labels = extract_features(model, spec, (32, 32), 4, augmentation=Augmentation(horizontal_flip=True),
                                        views=2)
    assert features.shape == (30, 512) and labels.shape == (30, 3)
    assert len(reads) == 10  # the clean pass and both views read one cache
    np.testing.assert_array_equal(labels[:10], labels[10:20])
    direct = feature_model(model).predict(x[:10].astype("float32"), verbose=0)
    np.testing.assert_allclose(features[:10], direct, rtol=1e-4, atol=1e-3)
    head = head_model(model)
    assert head.get_layer("predictions") is model.get_layer("predictions")
    np.testing.assert_allclose(head.predict(features[:10], verbose=0), model.predict(x[:10], verbose=0), atol=1e-5)


def test_fit_head_record_has_the_stage_history_shape(vgg16_weights, shapes_arrays):
    x, y, _ = shapes_arrays
    model = _pretrained_vgg(vgg16_weights)
    spec = from_arrays(x[:30], y[:30])
    train = extract_features(model, spec, (32, 32))
    record = fit_head_on_features(model, train, train, Stage("head", 2, 1e-3, patience=1),
                                  loss="categorical_crossentropy", metrics=["accuracy"], verbose=0)
    assert record["cached_features"] and record["trainable_blocks"] == []
    assert set(record["metrics"]) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert record["best_value"] == pytest.approx(min(record["metrics"]["val_loss"]))


def test_a_backbone_giving_flat_features_gets_cached_features_too():
    from keras_transfer.models.backbones import custom_backbone

    inputs = keras.Input((16, 16, 3))
    flat = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, name="conv")(inputs))
    spec = custom_backbone(keras.Model(inputs, flat), preprocessing="tf", blocks=["conv"])
    model = build_model(spec, 3, weights="pretrained", image_size=16)
    assert feature_model(model).output_shape == (None, 14 * 14 * 4)
    assert head_model(model).output_shape == (None, 3)


def test_a_short_last_batch_is_padded_so_the_network_is_traced_once():
    assert [even_batch_size(count, 32) for count in (150, 64, 10, 1, 300)] == [30, 32, 10, 1, 30]
    traces = []

    def double(images):
        traces.append(images.shape)
        return images * 2

    run = tf.function(double, reduce_retracing=True)
    images = tf.reshape(tf.range(12, dtype=tf.float32), (6, 2))
    np.testing.assert_array_equal(run_padded(run, images[:4], 4), images[:4].numpy() * 2)
    np.testing.assert_array_equal(run_padded(run, images[4:], 4), images[4:].numpy() * 2)  # 2 rows, padded to 4
    assert len(traces) == 1
