"""The serving tests' shared artifact.

One MobileNetV3Small is trained on the learnable shapes set and exported once
per session (every TFLite variant, the TPU signature and, when tf2onnx is
installed, ONNX); the tests in test_export, test_savedmodel, test_tflite,
test_onnx, test_metadata and test_atomic read that artifact. Tests that export
again do it without TFLite.
"""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.models.classifier import build_model
from keras_transfer.serving.export import export
from keras_transfer.testing.synthetic import make_shapes_arrays

CLASSES = 3
TPU_BATCH = 4
HAS_ONNX = importlib.util.find_spec("tf2onnx") is not None and importlib.util.find_spec("onnxruntime") is not None


@pytest.fixture(scope="session")
def shapes():
    """Training and validation arrays of the shapes set (3 classes, 32 px)."""
    x_train, y_train, names = make_shapes_arrays(CLASSES, per_class=40, image_size=32, seed=0)
    x_val, y_val, _ = make_shapes_arrays(CLASSES, per_class=20, image_size=32, seed=1)
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val, "names": names}


@pytest.fixture(scope="session")
def trained(shapes):
    """A MobileNetV3Small trained from scratch to high validation accuracy."""
    keras.utils.set_random_seed(0)
    model = build_model("mobilenetv3small", CLASSES, weights=None, image_size=32)
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(shapes["x_train"], shapes["y_train"], epochs=8, batch_size=8, verbose=0)
    return model


@pytest.fixture(scope="session")
def exported(trained, shapes, tmp_path_factory):
    """The full export: every TFLite variant, the TPU signature and ONNX when available."""
    directory = tmp_path_factory.mktemp("exports") / "shapes"
    result = export(
        trained,
        directory,
        class_names=shapes["names"],
        top_k=2,
        config={"backbone": "mobilenetv3small", "learning_rate": np.float32(2e-3), "epochs": 8, "root": Path("/x")},
        metrics={"val_accuracy": np.float64(0.97)},
        tflite=True,
        representative_data=(shapes["x_train"], shapes["y_train"]),
        validation_data=(shapes["x_val"], shapes["y_val"]),
        accelerator={"type": "tpu", "batch_size": TPU_BATCH},
        onnx=HAS_ONNX,
    )
    return result


@pytest.fixture(scope="session")
def saved_model(exported):
    return tf.saved_model.load(str(exported.saved_model))
