"""`ImageDataGenerator`: Keras 2's class, running on tf.data under Keras 3.

Keras 3 removed `keras.preprocessing.image.ImageDataGenerator`. This class takes
the same constructor arguments and offers `flow_from_directory`,
`flow_from_dataframe` and `flow`, but returns `tf.data.Dataset` pipelines
(batched, prefetched, augmented in batched TF ops), so code from older
tutorials runs on Keras 3 — and many times faster.

Differences from Keras 2, on purpose:
- a flow is one pass over the data (an epoch); drop `steps_per_epoch` from `fit`;
- the `"validation"` subset is never augmented;
- images are resized with `interpolation` (default `"bilinear"`, Keras 2 used
  `"nearest"`);
- `zca_whitening`, `save_to_dir` and `color_mode="rgba"` are not supported and
  say so.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from keras_transfer.data.augmentation import Augmentation
from keras_transfer.data.images import decode_image
from keras_transfer.data.sources import DataSpec, from_arrays, from_dataframe, from_folder, scan_spec

CLASS_MODES = ("categorical", "binary", "sparse", "input", "raw", None)


@dataclass(frozen=True)
class FlowOptions:
    """The options `flow_from_directory` and `flow_from_dataframe` share, in Keras 2's words; checked once.

    The two methods keep Keras 2's signatures (and defaults); each gathers these
    options into one `FlowOptions` for the checks and the pipeline.

    Args:
        target_size: (height, width) every image is resized to.
        color_mode: `"rgb"` or `"grayscale"` (`"rgba"` is not supported).
        classes: the class names in label order; None: those the data holds.
        class_mode: what each batch carries beside the images: `"categorical"`
            (one-hot), `"binary"` (floats), `"sparse"` or `"raw"` (integers),
            `"input"` (the images again), or None (images only).
        batch_size: images per batch.
        shuffle: shuffle the images every epoch.
        seed: the seed of the shuffle and the augmentation.
        save_to_dir: not supported: must be None (Keras 2's `save_prefix` and
            `save_format` go with it and are ignored).
        subset: `"training"`, `"validation"` (never augmented) or None; needs the
            generator's `validation_split`.
        interpolation: how images are resized (`tf.image.resize`'s methods).

    Example:
        >>> options = FlowOptions((224, 224), "rgb", None, "categorical", 32, True, 0, None, "training", "bilinear")
        >>> options.check(validation_split=0.2)
    """

    target_size: tuple[int, int]
    color_mode: str
    classes: Sequence[str] | None
    class_mode: str | None
    batch_size: int
    shuffle: bool
    seed: int | None
    save_to_dir: str | None
    subset: str | None
    interpolation: str

    def check(self, validation_split: float) -> None:
        """Raises a ValueError naming the first option that is unsupported or does not fit `validation_split`.

        Args:
            validation_split: the generator's share held out for `subset="validation"`.
        """
        _refuse_unsupported(self.save_to_dir, self.color_mode, self.class_mode)
        _check_subset(self.subset, validation_split)


@dataclass(eq=False)
class Standardization:
    """What `ImageDataGenerator.standardize` does to a batch after augmentation, in Keras 2's order.

    The generator reads and writes these under Keras 2's attribute names
    (`generator.rescale`, `generator.mean`, ...).

    Args:
        featurewise_center: subtract the per-channel `mean`.
        samplewise_center: subtract each image's mean.
        featurewise_std_normalization: divide by the per-channel `std`.
        samplewise_std_normalization: divide each image by its std.
        rescale: multiplies the pixels (e.g. 1/255), first.
        preprocessing_function: applied to the float batch after `rescale`.
        mean, std: the per-channel statistics the featurewise options need
            (`ImageDataGenerator.fit` computes them); None until then.

    Example:
        >>> standardize = Standardization(rescale=1 / 255, samplewise_center=True)
        >>> images = standardize(tf.zeros((8, 32, 32, 3)))
    """

    featurewise_center: bool = False
    samplewise_center: bool = False
    featurewise_std_normalization: bool = False
    samplewise_std_normalization: bool = False
    rescale: float | None = None
    preprocessing_function: Callable | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        """The standardised batch, as float32.

        Args:
            images: a batch (N, H, W, C) of pixels, any numeric dtype.

        Returns:
            The float32 batch after rescale, preprocessing_function and the
            centring/normalisation options.

        Raises:
            ValueError: a featurewise option without `mean` and `std`.
        """
        images = tf.cast(images, tf.float32)
        if self.rescale:
            images = images * self.rescale
        if self.preprocessing_function is not None:
            images = tf.convert_to_tensor(self.preprocessing_function(images), tf.float32)
        if self.samplewise_center:
            images = images - tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        if self.samplewise_std_normalization:
            images = images / (tf.math.reduce_std(images, axis=[1, 2, 3], keepdims=True) + 1e-6)
        if self.featurewise_center or self.featurewise_std_normalization:
            if self.mean is None:
                raise ValueError("featurewise_center/featurewise_std_normalization need statistics: call "
                                 "generator.fit(x_train) first.")
            if self.featurewise_center:
                images = images - self.mean
            if self.featurewise_std_normalization:
                images = images / (self.std + 1e-6)
        return images


class _Delegated:
    """An attribute of the owner that lives in one of its parts (e.g. `generator.rescale` in `standardization`)."""

    def __init__(self, part: str):
        self.part = part

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        return self if instance is None else getattr(getattr(instance, self.part), self.name)

    def __set__(self, instance, value) -> None:
        setattr(getattr(instance, self.part), self.name, value)


@dataclass(frozen=True)
class FlowInfo:
    """What a flow was made from; `build_and_fit` reads it to rebuild the pipeline its own way."""

    spec: DataSpec
    generator: ImageDataGenerator
    target_size: tuple[int, int] | None
    subset: str | None


class ImageDataGenerator:
    """Keras 2's ImageDataGenerator, returning tf.data pipelines.

    Args:
        featurewise_center, samplewise_center, featurewise_std_normalization,
        samplewise_std_normalization: as in Keras 2 (featurewise needs `fit(x)`).
        rotation_range, width_shift_range, height_shift_range, brightness_range,
        shear_range, zoom_range, channel_shift_range, fill_mode, cval,
        horizontal_flip, vertical_flip: augmentation, as in Keras 2 (see `Augmentation`).
        rescale: multiplies the pixels (e.g. 1/255), after augmentation.
        preprocessing_function: applied to each batch of float pixels (it must
            accept tensors, as `keras.applications.*.preprocess_input` do).
        validation_split: the share held out for `subset="validation"`.
        dtype: output dtype (default float32).
        random_resized_crop: (min_area, max_area), an addition to Keras 2's options.

    Attributes:
        augmentation: the `Augmentation` the options make.
        standardization: the `Standardization` the options make; its fields
            are also the generator's attributes, as in Keras 2 (`rescale`,
            `featurewise_center`, `mean`, `std`, ...).

    Example:
        >>> gen = ImageDataGenerator(rotation_range=20, horizontal_flip=True, validation_split=0.2)
        >>> train = gen.flow_from_directory("photos/", target_size=(224, 224), subset="training")
        >>> val = gen.flow_from_directory("photos/", target_size=(224, 224), subset="validation")
        >>> model.fit(train, validation_data=val, epochs=10)
    """

    featurewise_center = _Delegated("standardization")
    samplewise_center = _Delegated("standardization")
    featurewise_std_normalization = _Delegated("standardization")
    samplewise_std_normalization = _Delegated("standardization")
    rescale = _Delegated("standardization")
    preprocessing_function = _Delegated("standardization")
    mean = _Delegated("standardization")
    std = _Delegated("standardization")

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: float = 0.0,
        height_shift_range: float = 0.0,
        brightness_range: tuple[float, float] | None = None,
        shear_range: float = 0.0,
        zoom_range: float | tuple[float, float] = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: str | None = None,
        random_resized_crop: tuple[float, float] | None = None,
    ):
        if zca_whitening:
            raise ValueError("zca_whitening is not supported by keras_transfer.ImageDataGenerator: it needs a "
                             "dataset-wide matrix that tf.data cannot apply cheaply; whiten inside the model instead.")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Only data_format='channels_last' is supported, got {data_format!r}.")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}.")
        self.augmentation = Augmentation(
            rotation_range=rotation_range, width_shift_range=width_shift_range,
            height_shift_range=height_shift_range,
            zoom_range=tuple(zoom_range) if isinstance(zoom_range, (list, tuple)) else zoom_range,
            shear_range=shear_range, horizontal_flip=horizontal_flip, vertical_flip=vertical_flip,
            brightness_range=tuple(brightness_range) if brightness_range is not None else None,
            channel_shift_range=channel_shift_range, fill_mode=fill_mode, cval=cval,
            random_resized_crop=tuple(random_resized_crop) if random_resized_crop is not None else None,
        )
        self.standardization = Standardization(
            featurewise_center=featurewise_center, samplewise_center=samplewise_center,
            featurewise_std_normalization=featurewise_std_normalization,
            samplewise_std_normalization=samplewise_std_normalization,
            rescale=rescale, preprocessing_function=preprocessing_function,
        )
        self.zca_epsilon = zca_epsilon
        self.validation_split = validation_split
        self.interpolation_order = interpolation_order
        self.dtype = dtype or "float32"

    # --- Keras 2 methods -------------------------------------------------------

    def fit(self, x, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Computes the per-channel mean and std for featurewise centring/normalisation.

        Args:
            x: images (N, H, W, C), pixels 0–255.
            augment, rounds, seed: as in Keras 2 (statistics over `rounds` augmented copies).
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"fit() needs images of shape (N, H, W, C), got {x.shape}.")
        if augment:
            seeds = np.random.default_rng(seed).integers(0, 2**31, size=(rounds, 2))
            x = np.concatenate([self.augmentation(x, tf.constant(s)).numpy() for s in seeds])
        if self.rescale:
            x = x * self.rescale
        self.mean = x.mean(axis=(0, 1, 2))
        self.std = x.std(axis=(0, 1, 2))

    def standardize(self, images: tf.Tensor) -> tf.Tensor:
        """Applies rescale, preprocessing_function and the centring/normalisation options to a batch.

        Args:
            images: a batch (N, H, W, C) of pixels.

        Returns:
            The batch after `standardization`, in the generator's `dtype`.

        Example:
            >>> ImageDataGenerator(rescale=1 / 255).standardize(tf.fill((1, 8, 8, 3), 255.0))  # all ones
        """
        return tf.cast(self.standardization(images), self.dtype)

    # Both flows keep Keras 2's signatures (order and defaults). Their shared parameters, a line per
    # group (image, labels, batches, saving, subset and resizing), are documented and checked once: `FlowOptions`.

    def flow_from_directory(
        self,
        directory: str | os.PathLike,
        target_size: tuple[int, int] = (256, 256), color_mode: str = "rgb",
        classes: Sequence[str] | None = None, class_mode: str | None = "categorical",
        batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
        save_to_dir: str | None = None, save_prefix: str = "", save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None, interpolation: str = "bilinear",
        keep_aspect_ratio: bool = False,
    ) -> tf.data.Dataset:
        """A pipeline over a folder with one sub-folder per class (Keras 2 semantics).

        Args:
            directory: the folder; each sub-folder is a class (its images found recursively, sorted).
            follow_links: accepted for Keras 2 code, and ignored.
            keep_aspect_ratio: not supported (must be False).
            target_size, color_mode, classes, class_mode, batch_size, shuffle,
            seed, save_to_dir, save_prefix, save_format, subset,
            interpolation: see `FlowOptions`.

        Returns:
            A `tf.data.Dataset` of `(images, labels)` batches with the Keras 2
            attributes `class_indices`, `classes`, `filenames`, `samples`,
            `num_classes`, `batch_size` and `image_shape`.

        Example:
            >>> train = ImageDataGenerator(validation_split=0.2).flow_from_directory(
            ...     "photos/", target_size=(224, 224), subset="training")
        """
        options = FlowOptions(target_size, color_mode, classes, class_mode, batch_size, shuffle, seed, save_to_dir,
                              subset, interpolation)
        options.check(self.validation_split)
        if keep_aspect_ratio:
            raise ValueError("keep_aspect_ratio=True is not supported: images are resized to target_size; "
                             "crop them beforehand or use random_resized_crop.")
        root = Path(directory)
        spec = scan_spec(from_folder(root, class_names=classes, role="training", convertible=True))
        spec = self._subset_per_class(spec, subset)
        return self._flow(spec, options, [os.path.relpath(p, root) for p in spec.paths])

    def flow_from_dataframe(
        self,
        dataframe: pd.DataFrame,
        directory: str | os.PathLike | None = None,
        x_col: str = "filename",
        y_col: str = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256), color_mode: str = "rgb",
        classes: Sequence[str] | None = None, class_mode: str | None = "categorical",
        batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
        save_to_dir: str | None = None, save_prefix: str = "", save_format: str = "png",
        subset: str | None = None, interpolation: str = "bilinear",
        validate_filenames: bool = True,
    ) -> tf.data.Dataset:
        """A pipeline over a DataFrame of file names and labels (Keras 2 semantics).

        Args:
            dataframe: one row per image.
            directory: the folder relative file names are read from; None: the working directory.
            x_col: the column of file names.
            y_col: the column of labels.
            weight_col: not supported (must be None): pass sample weights to `model.fit`.
            validate_filenames: accepted for Keras 2 code; the up-front scan checks every file anyway
                (broken ones are skipped and listed).
            target_size, color_mode, classes, class_mode, batch_size, shuffle,
            seed, save_to_dir, save_prefix, save_format, subset,
            interpolation: see `FlowOptions`.

        Returns:
            A `tf.data.Dataset` of batches, with the same Keras 2 attributes as
            `flow_from_directory`'s (`filenames`: the paths read).

        Example:
            >>> frame = pd.DataFrame({"filename": ["a.jpg", "b.jpg"], "class": ["cat", "dog"]})
            >>> flow = ImageDataGenerator().flow_from_dataframe(frame, "photos/", target_size=(224, 224))
        """
        options = FlowOptions(target_size, color_mode, classes, class_mode, batch_size, shuffle, seed, save_to_dir,
                              subset, interpolation)
        options.check(self.validation_split)
        if weight_col is not None:
            raise ValueError("weight_col is not supported: pass sample weights to model.fit instead.")
        spec = scan_spec(from_dataframe(dataframe, path_column=x_col, label_column=y_col, directory=directory,
                                        class_names=classes, source="dataframe"))
        spec = self._subset_head(spec, subset)
        return self._flow(spec, options, [str(p) for p in spec.paths])

    def flow(
        self,
        x,
        y=None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight=None,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
    ) -> tf.data.Dataset:
        """A pipeline over in-memory images `x` (N, H, W, C) and labels `y` (passed through as given)."""
        _refuse_unsupported(save_to_dir, "rgb", "raw")
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by flow(): pass it to model.fit instead.")
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"flow() needs images of shape (N, H, W, C), got {x.shape}.")
        _check_subset(subset, self.validation_split)
        count = len(x)
        split = int(count * self.validation_split)
        part = slice(0, split) if subset == "validation" else slice(split, count) if subset else slice(0, count)
        x_part = x[part]
        y_part = np.asarray(y)[part] if y is not None else None
        sources = (x_part,) if y_part is None else (x_part, y_part)
        dataset = tf.data.Dataset.from_tensor_slices(sources)
        if shuffle:
            dataset = dataset.shuffle(len(x_part), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
        augment = subset != "validation" and not self.augmentation.is_identity
        dataset = self._augment_and_standardize(dataset, augment, seed)
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
        if y_part is not None and y_part.ndim == 1:
            spec = from_arrays(x_part, y_part, role="flow")
            dataset.keras_transfer_flow = FlowInfo(spec, self, tuple(x.shape[1:3]), subset)
            dataset.class_indices = {name: i for i, name in enumerate(spec.class_names)}
        dataset.samples = dataset.n = len(x_part)
        dataset.batch_size = batch_size
        return dataset

    # --- shared ----------------------------------------------------------------

    def _subset_per_class(self, spec: DataSpec, subset: str | None) -> DataSpec:
        """Keras 2's folder split: the first `validation_split` of each class's sorted files."""
        if subset is None:
            return spec
        keep = []
        for label in range(spec.num_classes):
            members = np.flatnonzero(spec.labels == label)
            split = int(len(members) * self.validation_split)
            keep.append(members[:split] if subset == "validation" else members[split:])
        return spec.subset(np.concatenate(keep))

    def _subset_head(self, spec: DataSpec, subset: str | None) -> DataSpec:
        """Keras 2's DataFrame split: the first `validation_split` of the rows."""
        if subset is None:
            return spec
        split = int(len(spec) * self.validation_split)
        indices = np.arange(split) if subset == "validation" else np.arange(split, len(spec))
        return spec.subset(indices)

    def _flow(self, spec: DataSpec, options: FlowOptions, filenames: list[str]) -> tf.data.Dataset:
        target_size = (int(options.target_size[0]), int(options.target_size[1]))
        class_mode, num_classes = options.class_mode, spec.num_classes
        paths = tf.data.Dataset.from_tensor_slices((spec.paths.astype(str), spec.labels))
        dataset = paths.map(
            lambda path, label: (decode_image(tf.io.read_file(path), target_size, method=options.interpolation),
                                 label),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        ).cache()
        if options.shuffle:
            dataset = dataset.shuffle(len(spec), seed=options.seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(options.batch_size)
        augment = options.subset != "validation" and not self.augmentation.is_identity
        dataset = self._augment_and_standardize(dataset, augment, options.seed, color_mode=options.color_mode)

        def shape_labels(images, labels):
            if class_mode == "categorical":
                return images, tf.one_hot(tf.cast(labels, tf.int32), num_classes)
            if class_mode == "binary":
                return images, tf.cast(labels, tf.float32)
            if class_mode in ("sparse", "raw"):
                return images, labels
            if class_mode == "input":
                return images, images
            return images

        dataset = dataset.map(shape_labels, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        dataset.keras_transfer_flow = FlowInfo(spec, self, target_size, options.subset)
        dataset.class_indices = {name: i for i, name in enumerate(spec.class_names)}
        dataset.classes = spec.labels
        dataset.filenames = filenames
        dataset.samples = dataset.n = len(spec)
        dataset.num_classes = num_classes
        dataset.batch_size = options.batch_size
        dataset.image_shape = (*target_size, 1 if options.color_mode == "grayscale" else 3)
        return dataset

    def _augment_and_standardize(self, dataset, augment: bool, seed, color_mode: str = "rgb"):
        def finish(images):
            if color_mode == "grayscale":
                images = tf.image.rgb_to_grayscale(images)
            return self.standardize(images)

        if augment:
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            dataset = tf.data.Dataset.zip((dataset, seeds)).map(
                lambda batch, pair: (finish(self.augmentation(batch[0], pair)), *batch[1:]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        else:
            dataset = dataset.map(lambda *batch: (finish(tf.cast(batch[0], tf.float32)), *batch[1:]),
                                  num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.map(lambda *batch: batch[0] if len(batch) == 1 else batch)

    def get_config(self) -> dict:
        """The augmentation options and standardisation settings, as a dict."""
        return {**dataclasses.asdict(self.augmentation), "rescale": self.rescale,
                "validation_split": self.validation_split}


def _check_subset(subset: str | None, validation_split: float) -> None:
    if subset is None:
        return
    if subset not in ("training", "validation"):
        raise ValueError(f"subset must be None, 'training' or 'validation', got {subset!r}.")
    if not validation_split:
        raise ValueError(f"subset={subset!r} needs ImageDataGenerator(validation_split=...) above 0.")


def _refuse_unsupported(save_to_dir, color_mode, class_mode) -> None:
    if save_to_dir is not None:
        raise ValueError("save_to_dir is not supported: augmented batches are not written to disk; "
                         "plot a batch with keras_transfer's notebooks instead.")
    if color_mode not in ("rgb", "grayscale"):
        raise ValueError(f"color_mode must be 'rgb' or 'grayscale', got {color_mode!r}.")
    if class_mode not in CLASS_MODES:
        raise ValueError(f"class_mode must be one of {CLASS_MODES}, got {class_mode!r}.")
