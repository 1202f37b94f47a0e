"""make_dataset: label modes, caching, batch sizes, augmentation in training only."""

import numpy as np
import tensorflow as tf

from keras_transfer.data.augmentation import DEFAULT_AUGMENTATION, Augmentation
from keras_transfer.data.pipeline import decoded_images, make_dataset
from keras_transfer.data.sources import from_arrays, load_data


def test_folder_pipeline_gives_resized_float_pixels_and_one_hot_labels(shapes_folder):
    train, _ = load_data(shapes_folder, validation_split=0.2)
    images, labels = next(iter(make_dataset(train, (24, 28), 8)))
    assert images.shape == (8, 24, 28, 3) and images.dtype == tf.float32
    assert labels.shape == (8, 3) and np.allclose(labels.numpy().sum(axis=1), 1)
    assert 0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255


def test_binary_and_multi_label_modes():
    images = np.zeros((6, 8, 8, 3), "uint8")
    binary = make_dataset(from_arrays(images, [0, 1, 0, 1, 1, 0]), (8, 8), 4)
    assert next(iter(binary))[1].shape == (4, 1)
    multi = make_dataset(from_arrays(images, np.eye(3)[[0, 1, 2, 0, 1, 2]] + np.eye(3)[[1, 2, 0, 1, 2, 0]]), (8, 8), 4)
    assert next(iter(multi))[1].shape == (4, 3)


def test_batch_larger_than_the_data_gives_one_batch(shapes_arrays):
    x, y, _ = shapes_arrays
    spec = from_arrays(x[:10], y[:10])
    assert [len(b[0]) for b in make_dataset(spec, (32, 32), 64, training=True)] == [10]
    assert [len(b[0]) for b in make_dataset(spec, (32, 32), 64)] == [10]


def test_evaluation_order_is_stable_and_pixels_exact(shapes_arrays):
    x, y, _ = shapes_arrays
    spec = from_arrays(x[:12], y[:12])
    pixels = np.concatenate([b[0].numpy() for b in make_dataset(spec, (32, 32), 5)])
    np.testing.assert_array_equal(pixels, x[:12].astype("float32"))


def test_training_shuffles_each_epoch_and_augments_and_validation_does_not(shapes_arrays):
    x, y, _ = shapes_arrays
    spec = from_arrays(x[:40], y[:40])
    augment = Augmentation(brightness_range=(0.2, 0.3))
    train = make_dataset(spec, (32, 32), 40, training=True, augmentation=augment, seed=1)
    first, second = [next(iter(train))[0].numpy() for _ in range(2)]
    assert not np.array_equal(first, second)
    assert first.mean() < 0.4 * x[:40].mean()
    evaluation = next(iter(make_dataset(spec, (32, 32), 40, augmentation=augment)))[0].numpy()
    np.testing.assert_array_equal(evaluation, x[:40].astype("float32"))


def test_disk_cache(tmp_path, shapes_arrays):
    x, y, _ = shapes_arrays
    spec = from_arrays(x[:8], y[:8])
    dataset = make_dataset(spec, (32, 32), 8, cache="disk", cache_dir=str(tmp_path))
    first = [batch[0].numpy() for batch in dataset]
    assert any(tmp_path.iterdir()), "a full pass writes the cache"
    second = [batch[0].numpy() for batch in dataset]
    np.testing.assert_array_equal(first[0], second[0])


def test_pipelines_on_one_decoded_images_decode_each_image_once(shapes_arrays, counted_spec):
    x, y, _ = shapes_arrays
    spec, reads = counted_spec(x[:20], y[:20])
    decoded = decoded_images(spec, (24, 24))
    evaluation = make_dataset(spec, (24, 24), 8, decoded=decoded)
    training = make_dataset(spec, (24, 24), 8, training=True, augmentation=DEFAULT_AUGMENTATION, decoded=decoded)
    shared = np.concatenate([images for images, _ in evaluation])
    for _ in range(2):
        assert sum(int(images.shape[0]) for images, _ in training) == 20
    assert len(reads) == 20
    alone = np.concatenate([images for images, _ in make_dataset(spec, (24, 24), 8)])
    assert len(reads) == 40  # a pipeline of its own decodes again
    np.testing.assert_array_equal(shared, alone)


def test_no_cache_decodes_on_every_pass(shapes_arrays, counted_spec):
    x, y, _ = shapes_arrays
    spec, reads = counted_spec(x[:10], y[:10])
    dataset = make_dataset(spec, (24, 24), 5, cache=None)
    for _ in range(3):
        list(dataset)
    assert len(reads) == 30
