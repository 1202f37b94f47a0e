"""One feature cache shared by the trials of a search: the same backbone and size extract once.

A trial's head stage trains on the frozen backbone's pooled features
(`RunContext.features`). Those depend only on the backbone and its weights,
the input size, the data split (the seed) and the augmented views, not on the
learning rates, dropout or label smoothing a search varies, so trials that agree
on the first read the features the first one extracted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

# The resolved options the frozen features depend on (augmentation only through views > 0).
FEATURE_OPTIONS = ("data", "validation_data", "validation_split", "class_names", "backbone", "weights", "image_size",
                   "seed", "mixed_precision")


class SharedFeatures:
    """A store of extracted features keyed by what they depend on, counting each extraction.

    Attributes:
        extractions: `Counter` of extractions per key (`(backbone, image size)` as text), so a test can pin
            "extracted once".
        reuses: how many trials read features another trial extracted.

    Example:
        >>> store = SharedFeatures()
        >>> fit_config(config, feature_store=store)   # each trial of a search passes the same store
        >>> sum(store.extractions.values())
        1
    """

    def __init__(self):
        self.extractions: Counter = Counter()
        self.reuses = 0
        self._store: dict[str, Any] = {}

    @staticmethod
    def key(context, views: int) -> str:
        """What a run's features depend on, as text."""
        recorded = context.config.to_dict()  # data described (arrays as "<tuple>"), not copied
        parts = {name: recorded[name] for name in FEATURE_OPTIONS}
        parts["backbone_name"] = context.backbone.name
        parts["views"] = views
        if views:
            parts["augmentation"] = recorded["augmentation"]
        return repr(sorted(parts.items()))

    def features(self, context, views: int, extract: Callable[[int], tuple]) -> tuple:
        """The features of `context` with `views` augmented views: extracted once per key, then shared.

        Args:
            context: the trial's `RunContext`.
            views: augmented views per training image.
            extract: computes them (`RunContext` passes its own extraction).

        Returns:
            What `extract(views)` returned, for this key.
        """
        key = self.key(context, views)
        if key in self._store:
            self.reuses += 1
        else:
            self._store[key] = extract(views)
            self.extractions[f"{context.backbone.name}@{context.image_size[0]}x{context.image_size[1]}"] += 1
        return self._store[key]

    @property
    def total_extractions(self) -> int:
        """Extractions over all keys."""
        return sum(self.extractions.values())
