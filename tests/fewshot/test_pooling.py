"""Grid-pooled prototypes: the embedding keeps the feature map's layout, equals a numpy reference, exports, grows."""

import keras
import numpy as np
import pytest
from PIL import Image

import keras_transfer
from keras_transfer.fewshot.episodic_evaluation import embed_images
from keras_transfer.fewshot.pooling import check_pooling, grid_features_model
from keras_transfer.fewshot.prototype_head import class_means, find_prototype_head
from keras_transfer.models.classifier import build_model
from keras_transfer.recipes.config import FitConfig
from keras_transfer.testing.brokenfiles import encode
from keras_transfer.testing.tiny import tiny_backbone, tiny_cnn
from keras_transfer.train.feature_cache import FEATURE_LAYER


def numpy_grid(feature_map: np.ndarray, side: int) -> np.ndarray:
    """The reference: (N, H, W, C) averaged over side x side equal cells, cells in row order, then channels."""
    n, height, width, channels = feature_map.shape
    cells = feature_map.reshape(n, side, height // side, side, width // side, channels).mean(axis=(2, 4))
    return cells.reshape(n, side * side * channels)


@pytest.fixture(scope="module")
def grid_result(shapes_small):
    """`few_shot(pooling="grid")` on 2 images of each of the first 3 classes (tiny backbone, 8 x 8 map)."""
    x, y, names = shapes_small
    chosen = np.concatenate([np.flatnonzero(y == name)[:2] for name in names[:3]])
    result = keras_transfer.few_shot((x[chosen], y[chosen]), backbone=tiny_backbone(32), weights="given",
                                     image_size=32, pooling="grid", verbose=0)
    return result, chosen


def test_grid_features_are_the_feature_map_averaged_over_at_most_four_by_four_cells(shapes_small):
    x, _, _ = shapes_small
    classifier = build_model(tiny_backbone(32), 3, weights="given", image_size=32)
    feature_map = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).input).predict(x[:5], verbose=0)
    assert feature_map.shape[1:] == (8, 8, 16)
    grid = grid_features_model(classifier)
    np.testing.assert_allclose(grid.predict(x[:5], verbose=0), numpy_grid(feature_map, 4), atol=1e-5)
    np.testing.assert_allclose(embed_images(classifier, x[:5], pooling="grid"), numpy_grid(feature_map, 4),
                               atol=1e-5)
    np.testing.assert_allclose(embed_images(classifier, x[:5], pooling="average"), feature_map.mean(axis=(1, 2)),
                               atol=1e-5)
    small = build_model(keras_transfer.custom_backbone(tiny_cnn(8), preprocessing="tf"), 3, weights="given",
                        image_size=8)  # a 2 x 2 map keeps its own 2 x 2 cells
    assert grid_features_model(small).output_shape == (None, 2 * 2 * 16)


def test_grid_prototypes_are_the_support_means_and_predict_as_the_numpy_reference(grid_result, shapes_small):
    result, chosen = grid_result
    x, y, names = shapes_small
    head = find_prototype_head(result.model)
    assert head.prototypes.shape == (3, 4 * 4 * 16)
    features = embed_images(result.model, x)
    plain = build_model(tiny_backbone(32), 3, weights="given", image_size=32)
    np.testing.assert_allclose(features, embed_images(plain, x, pooling="grid"), atol=1e-5)
    labels = np.array([names.index(name) for name in y[chosen]])
    expected, _ = class_means(features[chosen], labels, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head.prototypes), expected, atol=1e-6)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    cosine = unit @ (expected / np.linalg.norm(expected, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(result.model.predict(x, verbose=0).argmax(1), cosine.argmax(1))
    assert result.config["method_options"] == {"distance": "cosine", "scale": 10.0, "pooling": "grid"}
    assert FitConfig.from_dict(result.config) == result.fit_config
    assert result.method_record["pooling"] == "grid"


def test_a_grid_model_exports_serves_jpeg_bytes_reloads_and_gains_a_class(grid_result, shapes_small, tmp_path):
    result, _ = grid_result
    x, y, names = shapes_small
    exported = result.export(tmp_path / "export", report=False)
    predictor = keras_transfer.load(exported.directory)
    encoded = [encode(Image.fromarray(image), "JPEG", quality=95) for image in x[:4]]
    served = predictor.predict(encoded)
    assert [item["class_name"] for item in served] == [
        result.class_names[i] for i in predictor.predict_probabilities(x[:4]).argmax(1)]
    np.testing.assert_allclose(predictor.predict_probabilities(x[:4]), result.model.predict(x[:4], verbose=0),
                               atol=1e-4)
    reloaded = keras_transfer.load_model(exported.keras_model)
    star = x[y == names[3]][:2]
    grown = keras_transfer.add_classes(reloaded, (star, np.array([names[3]] * 2)))
    grown_head = find_prototype_head(grown)
    assert grown_head.class_names == names[:3] + [names[3]]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(grown_head.prototypes)[:3],
                                  keras.ops.convert_to_numpy(find_prototype_head(result.model).prototypes))


def test_an_unknown_pooling_or_a_backbone_without_a_feature_map_is_refused(shapes_small):
    x, y, _ = shapes_small
    with pytest.raises(ValueError, match="pooling must be one of \\['average', 'grid'\\].*centred, upright"):
        check_pooling("max")
    with pytest.raises(ValueError, match="pooling must be one of"):
        keras_transfer.few_shot((x, y), backbone=tiny_backbone(32), weights="given", image_size=32,
                                pooling="max")
    inputs = keras.Input((32, 32, 3))
    pooled = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(tiny_cnn(32)(inputs)))
    classifier = build_model(keras_transfer.custom_backbone(pooled, preprocessing="tf"), 3, weights="given",
                             image_size=32)
    with pytest.raises(ValueError, match="gives pooled features already: use pooling='average'"):
        grid_features_model(classifier)


def test_a_grid_run_skips_the_average_pooled_feature_cache_it_would_not_read(shapes_small, monkeypatch):
    x, y, names = shapes_small

    def no_cache(*args, **kwargs):
        raise AssertionError("the average-pooled feature cache was extracted for a grid run")

    monkeypatch.setattr("keras_transfer.recipes.context.extract_features", no_cache)
    result = keras_transfer.few_shot((x[:12], y[:12]), backbone=tiny_backbone(32), weights="given", image_size=32,
                                     pooling="grid", verbose=0)
    assert find_prototype_head(result.model).prototypes.shape[1] == 4 * 4 * 16
    with pytest.raises(AssertionError, match="feature cache was extracted"):
        keras_transfer.few_shot((x[:12], y[:12]), backbone=tiny_backbone(32), weights="given", image_size=32,
                                verbose=0)
