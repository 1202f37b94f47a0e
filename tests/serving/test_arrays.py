"""load_arrays: validation and representative data as arrays or datasets, resized to the model's input."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.serving.arrays import load_arrays
from keras_transfer.testing.synthetic import make_shapes_arrays


def test_load_arrays_accepts_datasets_and_resizes():
    images, labels, _ = make_shapes_arrays(2, per_class=3, image_size=40, seed=2)
    batched = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    pixels, found = load_arrays(batched, (32, 32), "validation_data", need_labels=True)
    assert pixels.shape == (6, 32, 32, 3) and pixels.dtype == np.float32
    np.testing.assert_array_equal(found, labels)
    unbatched = tf.data.Dataset.from_tensor_slices(images)
    same, none = load_arrays(unbatched, (40, 40), "representative_data")
    np.testing.assert_array_equal(same, images.astype("float32"))
    assert none is None
    with pytest.raises(ValueError, match="validation_data needs labels"):
        load_arrays(images, (32, 32), "validation_data", need_labels=True)
    with pytest.raises(ValueError, match="representative_data must hold RGB images"):
        load_arrays(["a.jpg", "b.jpg"], (32, 32), "representative_data")
