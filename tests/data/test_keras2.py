"""keras_transfer.ImageDataGenerator: Keras 2 code runs on Keras 3, returning tf.data pipelines."""

import numpy as np
import pandas as pd
import pytest

from keras_transfer import ImageDataGenerator


def test_flow_from_directory_with_validation_split(shapes_folder):
    generator = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True, validation_split=0.25)
    train = generator.flow_from_directory(shapes_folder, target_size=(32, 32), batch_size=16, subset="training")
    val = generator.flow_from_directory(shapes_folder, target_size=(32, 32), batch_size=16, subset="validation")
    assert (train.samples, val.samples) == (90, 30)
    assert train.class_indices == {"circle": 0, "square": 1, "triangle": 2}
    assert train.filenames[0].startswith("circle/") and len(train) == 6
    images, labels = next(iter(train))
    assert images.shape == (16, 32, 32, 3) and labels.shape == (16, 3)
    assert float(images.numpy().max()) <= 1.0
    assert not set(train.filenames) & set(val.filenames)


@pytest.mark.parametrize(("class_mode", "label_shape"), [("binary", (4,)), ("sparse", (4,)), ("categorical", (4, 3))])
def test_class_modes(shapes_folder, class_mode, label_shape):
    flow = ImageDataGenerator().flow_from_directory(shapes_folder, target_size=(16, 16), batch_size=4,
                                                    class_mode=class_mode, shuffle=False)
    assert next(iter(flow))[1].shape == label_shape


def test_class_mode_none_and_input_and_grayscale(shapes_folder):
    only_images = ImageDataGenerator().flow_from_directory(shapes_folder, target_size=(16, 16), batch_size=4,
                                                           class_mode=None, color_mode="grayscale")
    batch = next(iter(only_images))
    assert batch.shape == (4, 16, 16, 1)
    autoencoder = ImageDataGenerator().flow_from_directory(shapes_folder, target_size=(16, 16), batch_size=4,
                                                           class_mode="input")
    x, y = next(iter(autoencoder))
    np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_flow_from_dataframe(shapes_folder):
    frame = pd.read_csv(shapes_folder / "labels.csv").rename(columns={"label": "class"})
    flow = ImageDataGenerator().flow_from_dataframe(frame, directory=str(shapes_folder), target_size=(32, 32),
                                                    batch_size=10)
    assert flow.samples == 120 and next(iter(flow))[1].shape == (10, 3)


def test_flow_from_arrays_with_featurewise_normalisation(shapes_arrays):
    x, y, _ = shapes_arrays
    generator = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    generator.fit(x)
    images, labels = next(iter(generator.flow(x, y, batch_size=120, shuffle=False)))
    assert np.allclose(images.numpy().mean(axis=(0, 1, 2)), 0, atol=1e-3)
    assert np.allclose(images.numpy().std(axis=(0, 1, 2)), 1, atol=1e-2)
    np.testing.assert_array_equal(labels.numpy(), y)


def test_featurewise_without_fit_and_unsupported_options_say_so(shapes_arrays):
    x, y, _ = shapes_arrays
    with pytest.raises(ValueError, match=r"call generator.fit\(x_train\) first"):
        next(iter(ImageDataGenerator(featurewise_center=True).flow(x, y)))
    with pytest.raises(ValueError, match="zca_whitening is not supported"):
        ImageDataGenerator(zca_whitening=True)
    with pytest.raises(ValueError, match="needs ImageDataGenerator\\(validation_split"):
        ImageDataGenerator().flow_from_directory(".", subset="training")
