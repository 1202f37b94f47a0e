"""Did meta-training help? Prototype accuracy on episodes of held-out classes, before and after.

Meta-training fits the base classes; whether that helps classes it never saw
cannot be read from its own loss (on Fashion-MNIST the loss falls while novel
accuracy drops, benchmarks/RESULTS.md (g)). Like miniImageNet's validation
classes, a few labelled classes kept out of both the base classes and the
classes the model will be asked about judge it: the starting backbone and the
meta-trained one are scored by nearest-prototype accuracy on the same 1-shot
episodes of those classes, and `meta_train` keeps the better one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from keras_transfer.fewshot.episodic_evaluation import embed_images, prototype_accuracy
from keras_transfer.fewshot.labelled_pixels import labelled_pixels
from keras_transfer.fewshot.sampling import Episode
from keras_transfer.fewshot.sampling import episodes as draw_episodes

MAX_QUERIES = 15


@dataclass
class HeldOutClasses:
    """Labelled images of held-out classes and the 1-shot episodes drawn from them.

    Attributes:
        images: (N, H, W, 3) uint8 pixels at the model's input size.
        class_names: the held-out classes.
        tasks: the episodes every backbone is scored on.
    """

    images: np.ndarray
    class_names: list[str]
    tasks: list[Episode]

    def accuracy(self, model: keras.Model, distance: str) -> float:
        """Mean 1-shot nearest-prototype query accuracy of `model`'s embeddings over the episodes (0 when the
        embeddings are not finite, as after a diverged step)."""
        features = embed_images(model, self.images)
        if not np.all(np.isfinite(features)):
            return 0.0
        return float(np.mean([prototype_accuracy(features, task, distance) for task in self.tasks]))

    def describe(self) -> dict:
        """What the check scored on, for the run's record."""
        return {"classes": list(self.class_names), "episodes": len(self.tasks), "n_way": self.tasks[0].n_way,
                "k_shot": 1, "queries": int(len(self.tasks[0].query) // self.tasks[0].n_way)}


def held_out_classes(data: Any, base_class_names: Sequence[str], image_size: tuple[int, int], n_way: int,
                     episodes: int, seed: int) -> HeldOutClasses:
    """Reads the held-out classes and draws their 1-shot episodes.

    Args:
        data: labelled images of classes in neither the base data nor the classes the model will be asked about.
        base_class_names: the meta-training classes (none may be held out too).
        image_size: the model's input size.
        n_way: the meta-training episodes' ways (fewer when fewer classes are held out).
        episodes: how many episodes.
        seed: seeds the episodes.

    Returns:
        A `HeldOutClasses`.

    Raises:
        ValueError: unreadable data or one class (the reader's message), a class also among the base
            classes, or a class with one image.

    Example:
        >>> check = held_out_classes("held_out/", ["cat", "dog"], (64, 64), n_way=5, episodes=200, seed=0)
        >>> check.accuracy(model, "cosine")
    """
    try:
        images, labels, class_names = labelled_pixels(data, image_size)
    except ValueError as error:  # the reader's own message (one class, no images, ...), said of this argument
        raise ValueError(f"held_out_data: {error}") from error
    shared = sorted(set(class_names) & {str(name) for name in base_class_names})
    if shared:
        raise ValueError(f"held_out_data must hold classes that meta-training does not see, but {shared} are "
                         "also in the base data: give other classes (neither base classes nor the ones you will "
                         "add).")
    smallest = int(np.bincount(labels, minlength=len(class_names)).min())
    if smallest < 2:
        raise ValueError("Every held-out class needs at least 2 images (1 support, 1 query); one has "
                         f"{smallest}: give more images of it or leave it out.")
    tasks = draw_episodes(labels, min(n_way, len(class_names)), 1, min(MAX_QUERIES, smallest - 1), episodes, seed)
    return HeldOutClasses(images=images, class_names=class_names, tasks=tasks)
