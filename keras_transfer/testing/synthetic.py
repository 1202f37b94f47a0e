"""A small, learnable, seeded image set of coloured shapes, for tests, notebooks and benchmarks.

Each class is one shape in one colour family (red circles, green squares, blue
triangles, ...) drawn at a random place and size, with jittered colours on a
noisy background, so a small network learns it in a few epochs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES = ("circle", "square", "triangle", "diamond", "cross", "ring")
_BASE_COLOURS = ((220, 40, 40), (40, 200, 60), (50, 80, 230), (230, 200, 40), (200, 60, 220), (40, 210, 210))


def shape_image(shape_index: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws one `size`×`size` RGB uint8 image of class `shape_index`."""
    background = rng.integers(0, 90, size=3)
    noise = rng.integers(-25, 25, size=(size, size, 3))
    canvas = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in np.clip(np.array(_BASE_COLOURS[shape_index]) + rng.integers(-30, 30, 3), 0, 255))
    radius = size * rng.uniform(0.22, 0.38)
    cx, cy = rng.uniform(radius, size - radius, size=2)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    name = SHAPE_CLASSES[shape_index]
    if name == "circle":
        draw.ellipse(box, fill=colour)
    elif name == "square":
        draw.rectangle(box, fill=colour)
    elif name == "triangle":
        draw.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=colour)
    elif name == "diamond":
        draw.polygon([(cx, cy - radius), (cx + radius, cy), (cx, cy + radius), (cx - radius, cy)], fill=colour)
    elif name == "cross":
        w = radius / 3
        draw.rectangle((cx - w, cy - radius, cx + w, cy + radius), fill=colour)
        draw.rectangle((cx - radius, cy - w, cx + radius, cy + w), fill=colour)
    else:
        draw.ellipse(box, outline=colour, width=max(2, int(radius / 3)))
    return np.asarray(image)


def make_shapes_arrays(
    num_classes: int = 3, per_class: int = 40, image_size: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The shapes set as arrays.

    Args:
        num_classes: 2 to 6 classes.
        per_class: images per class.
        image_size: side of the square images.
        seed: random seed.

    Returns:
        `(images uint8 (N, size, size, 3), labels int (N,), class_names)`, shuffled.

    Example:
        >>> x, y, names = make_shapes_arrays(3, 10, 32)
        >>> x.shape, names
        ((30, 32, 32, 3), ['circle', 'square', 'triangle'])
    """
    if not 2 <= num_classes <= len(SHAPE_CLASSES):
        raise ValueError(f"num_classes must be 2 to {len(SHAPE_CLASSES)}, got {num_classes}.")
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), per_class)
    rng.shuffle(labels)
    images = np.stack([shape_image(int(label), image_size, rng) for label in labels])
    return images, labels, list(SHAPE_CLASSES[:num_classes])


def write_shapes_folder(
    folder: str | os.PathLike,
    num_classes: int = 3,
    per_class: int = 40,
    image_size: int = 32,
    seed: int = 0,
    image_format: str = "png",
) -> Path:
    """Writes the shapes set as image files in class folders, plus `labels.csv`.

    Args:
        folder: where to write (created if missing).
        num_classes: 2 to 6 classes.
        per_class: images per class.
        image_size: side of the square images.
        seed: random seed.
        image_format: `"png"` or `"jpg"`.

    Returns:
        The folder. It holds `<class>/<class>_<i>.<ext>` and `labels.csv` with
        the columns `filename` (relative to the folder) and `label`.

    Example:
        >>> root = write_shapes_folder("/tmp/shapes", per_class=20)
        >>> result = keras_transfer.build_and_fit(root, backbone="mobilenetv2", weights=None)
    """
    root = Path(folder)
    images, labels, names = make_shapes_arrays(num_classes, per_class, image_size, seed)
    rows = ["filename,label"]
    counts = dict.fromkeys(names, 0)
    for image, label in zip(images, labels):
        name = names[label]
        (root / name).mkdir(parents=True, exist_ok=True)
        relative = f"{name}/{name}_{counts[name]:04d}.{image_format}"
        counts[name] += 1
        options = {"quality": 95} if image_format == "jpg" else {}
        Image.fromarray(image).save(root / relative, **options)
        rows.append(f"{relative},{name}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root
