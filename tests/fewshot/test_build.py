"""few_shot(): a run like any other whose head holds the support set's class means; it exports and serves JPEG."""

import keras
import numpy as np
import pytest
from PIL import Image

import keras_transfer
from keras_transfer.fewshot.episodic_evaluation import embed_images
from keras_transfer.fewshot.prototype_head import class_means, find_prototype_head
from keras_transfer.recipes.config import FitConfig
from keras_transfer.testing.brokenfiles import encode
from keras_transfer.testing.tiny import tiny_backbone


def test_prototypes_equal_the_support_means_of_the_embedding(support_result, shapes_small):
    result, chosen = support_result
    x, y, names = shapes_small
    head = find_prototype_head(result.model)
    assert result.class_names == head.class_names == names[:3]
    features = embed_images(result.model, x[chosen])
    labels = np.array([names.index(name) for name in y[chosen]])
    expected, counts = class_means(features, labels, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head.prototypes), expected, atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head.counts), [2, 2, 2])
    # the model's prediction is the nearest prototype of the numpy reference
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    cosine = unit @ (expected / np.linalg.norm(expected, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(result.model.predict(x[chosen], verbose=0).argmax(1), cosine.argmax(1))


def test_the_config_is_a_run_config_that_reruns(support_result, shapes_small):
    result, chosen = support_result
    assert result.config["method"] == "prototypes"
    assert result.config["method_options"] == {"distance": "cosine", "scale": 10.0, "pooling": "average"}
    assert result.config["validation_split"] == 0.0
    assert FitConfig.from_dict(result.config) == result.fit_config
    assert result.method_record["support_per_class"] == {name: 2 for name in result.class_names}
    x, y, _ = shapes_small
    again = keras_transfer.build_and_fit_from_config(result.config, data=(x[chosen], y[chosen]),
                                                     backbone=tiny_backbone(32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(find_prototype_head(again.model).prototypes),
                               keras.ops.convert_to_numpy(find_prototype_head(result.model).prototypes), atol=1e-6)
    # options that would choose another method are refused
    with pytest.raises(ValueError, match="few_shot sets"):
        keras_transfer.few_shot((x, y), method="fine_tune")
    with pytest.raises(ValueError, match="distance must be one of"):
        keras_transfer.few_shot((x, y), distance="l1")


def test_exported_model_serves_jpeg_bytes_and_reloads_with_its_prototypes(support_result, support_export,
                                                                          shapes_small):
    result, _ = support_result
    x, _, _ = shapes_small
    exported = support_export
    predictor = keras_transfer.load(exported.directory)
    encoded = [encode(Image.fromarray(image), "JPEG", quality=95) for image in x[:4]]
    served = predictor.predict(encoded, top_k=3)
    assert [item["class_name"] for item in served] == [
        result.class_names[i] for i in predictor.predict_probabilities(x[:4]).argmax(1)]
    assert all(item["class_name"] in result.class_names for item in served)
    np.testing.assert_allclose(predictor.predict_probabilities(x[:4]), result.model.predict(x[:4], verbose=0),
                               atol=1e-4)
    reloaded = keras_transfer.load_model(exported.keras_model)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(find_prototype_head(reloaded).prototypes),
                                  keras.ops.convert_to_numpy(find_prototype_head(result.model).prototypes))
