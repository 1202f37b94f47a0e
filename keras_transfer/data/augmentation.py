"""Training-time augmentation in batched TensorFlow ops, configured in ImageDataGenerator's words.

Rotation, shifts, zoom, shear and flips are folded into ONE projective
transform per image, warped (with brightness, channel shift and the clip) in a
single XLA-compiled loop per batch, so adding options costs almost nothing. Random-resized-crop is one
`crop_and_resize` call. Randomness is stateless and seeded per batch, so a seed
reproduces a run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import tensorflow as tf

FILL_MODES = {"nearest": "NEAREST", "constant": "CONSTANT", "reflect": "REFLECT", "wrap": "WRAP"}


@dataclass(frozen=True)
class Augmentation:
    """Random transformations of a batch of 0–255 float pixels (training only).

    The options mean what they meant in Keras 2's `ImageDataGenerator`.

    Args:
        rotation_range: degrees; a rotation in [-r, r].
        width_shift_range: a shift in [-s, s] of the width (s < 1) or pixels (s >= 1).
        height_shift_range: the same, vertically.
        zoom_range: z or (low, high): scale factors in [1 - z, 1 + z]; below 1 zooms in.
        shear_range: degrees of shear, in [-s, s].
        horizontal_flip: flip left-right half of the time.
        vertical_flip: flip upside-down half of the time.
        brightness_range: (low, high) multiplies the pixels by a factor in it.
        channel_shift_range: adds a value in [-r, r] to the pixels (0–255 scale).
        fill_mode: `"nearest"`, `"constant"`, `"reflect"` or `"wrap"` for
            pixels moved in from outside the image.
        cval: the fill value for `"constant"`.
        random_resized_crop: (min_area, max_area): crop a random box of that
            share of the area (aspect ratio 3/4 to 4/3) and resize it back.

    Example:
        >>> augment = Augmentation(rotation_range=20, zoom_range=0.2, horizontal_flip=True)
        >>> images = augment(images, seed=tf.constant([1, 2]))
    """

    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    zoom_range: float | tuple[float, float] = 0.0
    shear_range: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    brightness_range: tuple[float, float] | None = None
    channel_shift_range: float = 0.0
    fill_mode: str = "nearest"
    cval: float = 0.0
    random_resized_crop: tuple[float, float] | None = None

    def __post_init__(self):
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {sorted(FILL_MODES)}, got {self.fill_mode!r}.")
        for name in ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                     "channel_shift_range"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        low, high = self.zoom_bounds
        if not 0 < low <= high:
            raise ValueError(f"zoom_range must give 0 < low <= high, got {self.zoom_range}.")
        if self.brightness_range is not None:
            low, high = self.brightness_range
            if not 0 <= low <= high:
                raise ValueError(
                    f"brightness_range must be (low, high) with 0 <= low <= high, got {self.brightness_range}."
                )
        if self.random_resized_crop is not None:
            low, high = self.random_resized_crop
            if not 0 < low <= high <= 1:
                raise ValueError(
                    f"random_resized_crop must be (min, max) area shares in (0, 1], got {self.random_resized_crop}."
                )

    @property
    def zoom_bounds(self) -> tuple[float, float]:
        if isinstance(self.zoom_range, (int, float)):
            return 1.0 - self.zoom_range, 1.0 + self.zoom_range
        low, high = self.zoom_range
        return float(low), float(high)

    @property
    def has_geometry(self) -> bool:
        return bool(self.rotation_range or self.width_shift_range or self.height_shift_range or self.shear_range
                    or self.zoom_bounds != (1.0, 1.0) or self.horizontal_flip or self.vertical_flip)

    @property
    def is_identity(self) -> bool:
        return not (self.has_geometry or self.brightness_range or self.channel_shift_range
                    or self.random_resized_crop)

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value != _DEFAULTS[key]}

    @classmethod
    def from_dict(cls, options: Mapping) -> Augmentation:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"Unknown augmentation option(s) {unknown}; the options are {sorted(known)}.")
        values = dict(options)
        for key in ("zoom_range", "brightness_range", "random_resized_crop"):
            if isinstance(values.get(key), list):
                values[key] = tuple(values[key])
        return cls(**values)

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Augments a batch (B, H, W, 3) of pixels in 0–255 (uint8 or float); `seed` is a shape-(2,) int tensor.

        Returns:
            float32 pixels in 0–255, same shape.
        """
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=4)
        if self.random_resized_crop is not None:  # crop_and_resize has no XLA kernel: it runs before
            images = self._random_resized_crop(tf.cast(images, tf.float32), seeds[0])
        shape = tf.shape(images)
        batch = shape[0]
        # The random draws stay outside XLA (it may pick another random algorithm), so a seed means the
        # same transformations whatever compiles the warp.
        transforms = self.matrices(shape, seeds[1]) if self.has_geometry else tf.zeros([batch, 8])
        scale = tf.ones([batch, 1, 1, 1])
        if self.brightness_range is not None:
            low, high = self.brightness_range
            scale = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[2], low, high)
        offset = tf.zeros([batch, 1, 1, 1])
        if self.channel_shift_range:
            shift = self.channel_shift_range
            offset = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[3], -shift, shift)
        return _compiled(self)(images, transforms, scale, offset)

    def _finish(self, images: tf.Tensor, transforms: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) -> tf.Tensor:
        """What XLA compiles into one fused loop: the warp, brightness, channel shift and the clip."""
        if self.has_geometry:
            images = projective_warp(images, transforms, FILL_MODES[self.fill_mode], self.cval)
        images = tf.cast(images, tf.float32)
        if self.brightness_range is not None:
            images = images * scale
        if self.channel_shift_range:
            images = images + offset
        return tf.clip_by_value(images, 0.0, 255.0)

    def matrices(self, shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """The (B, 8) projective transforms (output pixel → input pixel) of one batch."""
        batch = shape[0]
        height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
        draws = tf.random.stateless_uniform([8, batch], seed, 0.0, 1.0)

        def spread(draw, magnitude):  # uniform in [-magnitude, magnitude]
            return (2.0 * draw - 1.0) * magnitude

        theta = spread(draws[0], self.rotation_range * math.pi / 180.0)
        shear = spread(draws[1], self.shear_range * math.pi / 180.0)
        shift_x = spread(draws[2], self.width_shift_range) * (width if self.width_shift_range < 1 else 1.0)
        shift_y = spread(draws[3], self.height_shift_range) * (height if self.height_shift_range < 1 else 1.0)
        low, high = self.zoom_bounds
        zoom_x = low + draws[4] * (high - low)
        zoom_y = low + draws[5] * (high - low)
        flip_x = tf.where(draws[6] < 0.5, -1.0, 1.0) if self.horizontal_flip else tf.ones([batch])
        flip_y = tf.where(draws[7] < 0.5, -1.0, 1.0) if self.vertical_flip else tf.ones([batch])

        # Output pixel p maps to input pixel A (p - c) + c + t, with
        # A = Rotation · Shear · Zoom · Flip and c the image centre.
        cos, sin = tf.cos(theta), tf.sin(theta)
        a0 = cos * zoom_x * flip_x
        a1 = (-cos * tf.sin(shear) - sin * tf.cos(shear)) * zoom_y * flip_y
        a3 = sin * zoom_x * flip_x
        a4 = (-sin * tf.sin(shear) + cos * tf.cos(shear)) * zoom_y * flip_y
        cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
        a2 = cx + shift_x - a0 * cx - a1 * cy
        a5 = cy + shift_y - a3 * cx - a4 * cy
        zeros = tf.zeros([batch])
        return tf.stack([a0, a1, a2, a3, a4, a5, zeros, zeros], axis=1)

    def _random_resized_crop(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(images)
        batch = shape[0]
        draws = tf.random.stateless_uniform([4, batch], seed, 0.0, 1.0)
        low, high = self.random_resized_crop
        area = low + draws[0] * (high - low)
        log_ratio = math.log(3 / 4) + draws[1] * (math.log(4 / 3) - math.log(3 / 4))
        ratio = tf.exp(log_ratio)
        crop_h = tf.minimum(tf.sqrt(area / ratio), 1.0)
        crop_w = tf.minimum(tf.sqrt(area * ratio), 1.0)
        top = draws[2] * (1.0 - crop_h)
        left = draws[3] * (1.0 - crop_w)
        boxes = tf.stack([top, left, top + crop_h, left + crop_w], axis=1)
        size = images.shape[1:3] if images.shape[1] is not None else shape[1:3]
        return tf.image.crop_and_resize(images, boxes, tf.range(batch), size)


_COMPILED: dict[Augmentation, object] = {}


def _compiled(augmentation: Augmentation):
    """One XLA-compiled `_finish` per policy (compiled once per batch shape)."""
    if augmentation not in _COMPILED:
        # No reduce_retracing: the warp needs static height, width and channels (one trace per image shape).
        _COMPILED[augmentation] = tf.function(augmentation._finish, jit_compile=True)
    return _COMPILED[augmentation]


def map_coordinate(coordinate: tf.Tensor, size: int, fill_mode: str) -> tf.Tensor:
    """Maps input coordinates outside [0, size - 1] inside, as TensorFlow's `ImageProjectiveTransformV3` does."""
    length = float(size)
    if fill_mode == "CONSTANT":
        return coordinate
    if size <= 1:
        return tf.zeros_like(coordinate)
    if fill_mode == "NEAREST":
        return tf.clip_by_value(coordinate, 0.0, length - 1.0)
    if fill_mode == "REFLECT":  # d c b a | a b c d | d c b a, about the pixel edges
        # The image is symmetric about its left edge (-0.5) and periodic in 2 * length: fold |c + 0.5| into
        # one period, then mirror its second half. abs and floor cost half of floormod and two selects.
        folded = tf.abs(coordinate + 0.5)
        folded = folded - 2.0 * length * tf.floor(folded / (2.0 * length))
        mapped = length - 0.5 - tf.abs(folded - length)
    else:  # WRAP, with TensorFlow's own period arithmetic
        span = length - 1.0
        below = coordinate + length * (tf.math.floor(-coordinate / span) + 1.0)
        above = coordinate - length * tf.math.floor(coordinate / span)
        mapped = tf.where(coordinate < 0.0, below, tf.where(coordinate > span, above, coordinate))
    return tf.clip_by_value(mapped, 0.0, length - 1.0)


def projective_warp(images: tf.Tensor, transforms: tf.Tensor, fill_mode: str = "REFLECT",
                    cval: float = 0.0) -> tf.Tensor:
    """`ImageProjectiveTransformV3` (bilinear, same output size) in gather ops that XLA fuses.

    TensorFlow's CPU kernel for that op costs about twice the decoding of a
    500×375 JPEG per 224 px image; compiled by XLA these ops cost 3–4× less
    (benchmarks/RESULTS.md), reading uint8 pixels straight from the cache.

    Args:
        images: (B, H, W, C), any dtype, static H, W, C.
        transforms: (B, 8) rows `[a0, a1, a2, a3, a4, a5, c0, c1]` mapping output to input pixels.
        fill_mode: `"REFLECT"`, `"NEAREST"`, `"CONSTANT"` or `"WRAP"`.
        cval: the fill value of `"CONSTANT"`.

    Returns:
        float32 (B, H, W, C).
    """
    _, height, width, channels = images.shape
    batch = tf.shape(images)[0]
    rows, cols = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    a = [transforms[:, k, None, None] for k in range(8)]
    projection = a[6] * cols + a[7] * rows + 1.0
    x = map_coordinate((a[0] * cols + a[1] * rows + a[2]) / projection, width, fill_mode)
    y = map_coordinate((a[3] * cols + a[4] * rows + a[5]) / projection, height, fill_mode)
    flat = tf.reshape(images, [-1, channels])
    base = (tf.range(batch) * (height * width))[:, None, None]

    def read(yy, xx):
        index = base + tf.clip_by_value(yy, 0, height - 1) * width + tf.clip_by_value(xx, 0, width - 1)
        values = tf.cast(tf.gather(flat, index), tf.float32)
        if fill_mode != "CONSTANT":
            return values
        inside = (yy >= 0) & (yy < height) & (xx >= 0) & (xx < width)
        return tf.where(inside[..., None], values, cval)

    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    xi, yi = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    top = read(yi, xi) * (1.0 - wx) + read(yi, xi + 1) * wx
    bottom = read(yi + 1, xi) * (1.0 - wx) + read(yi + 1, xi + 1) * wx
    return top * (1.0 - wy) + bottom * wy


_DEFAULTS = {f.name: f.default for f in fields(Augmentation)}

DEFAULT_AUGMENTATION = Augmentation(
    rotation_range=10,
    width_shift_range=0.1,
    height_shift_range=0.1,
    zoom_range=0.1,
    horizontal_flip=True,
    fill_mode="reflect",
)


def resolve_augmentation(augmentation) -> Augmentation | None:
    """`"default"`, None, a dict of options, an `Augmentation` or an ImageDataGenerator → `Augmentation` or None."""
    if augmentation is None or augmentation is False:
        return None
    if isinstance(augmentation, str):
        if augmentation == "default":
            return DEFAULT_AUGMENTATION
        raise ValueError(f"augmentation must be 'default', None, a dict of options or an ImageDataGenerator; "
                         f"got {augmentation!r}.")
    if isinstance(augmentation, Augmentation):
        return augmentation
    if isinstance(augmentation, Mapping):
        return Augmentation.from_dict(augmentation)
    from_generator = getattr(augmentation, "augmentation", None)
    if isinstance(from_generator, Augmentation):
        return from_generator
    raise TypeError(f"Unsupported augmentation of type {type(augmentation).__name__}.")
