"""Augmentation: every option keeps shape and range, flips are exact, seeds reproduce."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.data.augmentation import DEFAULT_AUGMENTATION, Augmentation, resolve_augmentation

OPTIONS = [
    {"rotation_range": 40},
    {"width_shift_range": 0.3},
    {"height_shift_range": 5},
    {"zoom_range": 0.3},
    {"zoom_range": (0.5, 0.9)},
    {"shear_range": 30},
    {"horizontal_flip": True},
    {"vertical_flip": True},
    {"brightness_range": (0.5, 1.5)},
    {"channel_shift_range": 60.0},
    {"rotation_range": 30, "fill_mode": "constant", "cval": 128.0},
    {"rotation_range": 30, "fill_mode": "reflect"},
    {"rotation_range": 30, "fill_mode": "wrap"},
    {"random_resized_crop": (0.3, 1.0)},
    DEFAULT_AUGMENTATION.to_dict(),
]


def _batch(seed=0, shape=(6, 24, 20, 3)):
    return tf.constant(np.random.default_rng(seed).uniform(0, 255, shape), tf.float32)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o))
def test_every_option_keeps_shape_dtype_and_range(options):
    images = _batch()
    out = Augmentation.from_dict(options)(images, tf.constant([1, 2]))
    assert out.shape == images.shape and out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 255.0
    assert not np.allclose(out.numpy(), images.numpy()), "the option changed nothing"


def test_horizontal_flip_gives_the_image_or_its_mirror_exactly():
    images = _batch(shape=(16, 9, 7, 3))
    out = Augmentation(horizontal_flip=True)(images, tf.constant([3, 4])).numpy()
    mirrored = images.numpy()[:, :, ::-1]
    kept = [np.allclose(o, i, atol=1e-3) for o, i in zip(out, images.numpy())]
    flipped = [np.allclose(o, m, atol=1e-3) for o, m in zip(out, mirrored)]
    assert all(k or f for k, f in zip(kept, flipped))
    assert any(kept) and any(flipped)


def test_same_seed_same_output_other_seed_other_output():
    images = _batch()
    augment = Augmentation(rotation_range=20, zoom_range=0.2, horizontal_flip=True, brightness_range=(0.8, 1.2))
    first = augment(images, tf.constant([5, 6])).numpy()
    np.testing.assert_array_equal(first, augment(images, tf.constant([5, 6])).numpy())
    assert not np.allclose(first, augment(images, tf.constant([7, 8])).numpy())


def test_identity_and_resolution():
    assert Augmentation().is_identity
    assert resolve_augmentation("default") is DEFAULT_AUGMENTATION
    assert resolve_augmentation(None) is None
    assert resolve_augmentation({"horizontal_flip": True}) == Augmentation(horizontal_flip=True)
    assert Augmentation.from_dict(DEFAULT_AUGMENTATION.to_dict()) == DEFAULT_AUGMENTATION


@pytest.mark.parametrize(
    ("options", "message"),
    [({"rotation": 10}, r"Unknown augmentation option\(s\) \['rotation'\]"),
     ({"fill_mode": "mirror"}, "fill_mode must be one of"),
     ({"zoom_range": 1.5}, "zoom_range must give"),
     ({"random_resized_crop": (0.5, 2.0)}, "random_resized_crop must be")],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        Augmentation.from_dict(options)


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
def test_xla_warp_computes_what_tensorflows_projective_transform_computes(fill_mode):
    from keras_transfer.data.augmentation import FILL_MODES, projective_warp

    images = _batch(shape=(8, 24, 20, 3))
    augment = Augmentation(rotation_range=40, zoom_range=0.3, shear_range=20, width_shift_range=0.3,
                           horizontal_flip=True, fill_mode=fill_mode, cval=77.0)
    transforms = augment.matrices(tf.shape(images), tf.constant([5, 6], tf.int64))
    expected = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[24, 20], fill_value=77.0, interpolation="BILINEAR",
        fill_mode=FILL_MODES[fill_mode])
    got = tf.function(projective_warp, jit_compile=True)(tf.cast(tf.round(images), tf.uint8), transforms,
                                                          FILL_MODES[fill_mode], 77.0)
    rounded = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.round(images), transforms=transforms, output_shape=[24, 20], fill_value=77.0,
        interpolation="BILINEAR", fill_mode=FILL_MODES[fill_mode])
    np.testing.assert_allclose(got.numpy(), rounded.numpy(), atol=0.02)
    assert expected.shape == got.shape


def test_uint8_batches_are_augmented_like_float_ones():
    images = tf.cast(tf.round(_batch()), tf.uint8)
    augment = Augmentation(rotation_range=20, horizontal_flip=True, brightness_range=(0.9, 1.1))
    seed = tf.constant([1, 2])
    np.testing.assert_allclose(augment(images, seed).numpy(), augment(tf.cast(images, tf.float32), seed).numpy(),
                               atol=1e-3)
