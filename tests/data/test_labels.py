"""Labels: values matched to class names or taken as ids, and validation labels the training data lacks."""

import numpy as np
import pytest

from keras_transfer.data.labels import encode_labels
from keras_transfer.data.sources import load_data


def test_integer_labels_with_class_names_are_ids():
    labels, names = encode_labels([0, 2, 1], ["cat", "dog", "bird"])
    assert labels.tolist() == [0, 2, 1] and names == ["cat", "dog", "bird"]


def test_validation_label_unknown_to_training():
    train = (np.zeros((4, 8, 8, 3)), ["cat", "dog", "cat", "dog"])
    validation = (np.zeros((2, 8, 8, 3)), ["cat", "bird"])
    with pytest.raises(ValueError, match=r"Validation labels \['bird'\] are not among the training classes"):
        load_data(train, validation_data=validation)
