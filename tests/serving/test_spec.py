"""The model checks before export: no training-only layers, a fixed-size image input."""

import keras
import pytest

from keras_transfer.serving.export import export


def test_model_with_augmentation_layers_is_refused(tmp_path):
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    with pytest.raises(ValueError, match="training-only layers.*RandomFlip"):
        export(model, tmp_path / "out", class_names=["a", "b"])
    assert not (tmp_path / "out").exists()


def test_export_needs_a_fixed_size_image_input(tmp_path):
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    with pytest.raises(ValueError, match="fixed-size RGB image input"):
        export(keras.Model(inputs, outputs), tmp_path / "out", class_names=["a", "b"])
