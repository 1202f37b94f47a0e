"""`choose_block()`: which backbone block's features make the best prototypes, judged on base classes.

A pretrained network's last blocks specialise in its own task; on images unlike
it (digits or clothes for an ImageNet network, small inputs) a middle block's
features often separate new classes better (Yosinski et al. 2014). Which block
is best cannot be judged on the novel classes' few labelled images, so it is
judged where labels are plenty: on few-shot episodes drawn from *base* classes
(other classes of the same kind of images, as meta-training uses). Every
candidate block's pooled features come from one forward pass; each block is
scored by prototype accuracy on the same episodes, and the best one names the
truncated backbone (`"mobilenet:block9"`) to give `few_shot`, `meta_train` or
`build_and_fit`. With `poolings=("average", "grid")` the same episodes also judge
how the block's feature map is pooled (`few_shot(pooling=...)`): grid pooling wins
on centred images and loses on images whose objects move, and base classes of the
same kind of images tell which case a user has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from keras_transfer.fewshot.episodic_evaluation import (
    EpisodicScore,
    model_pixels,
    prototype_accuracy,
    score_episodes,
)
from keras_transfer.fewshot.meta_training import base_pixels
from keras_transfer.fewshot.pooling import check_pooling, pool_feature_map
from keras_transfer.fewshot.prototype_head import check_distance
from keras_transfer.fewshot.sampling import episodes as draw_episodes
from keras_transfer.models.backbones import BackboneSpec, resolve_backbone, size_pair


@dataclass
class BlockChoice:
    """The episodic prototype accuracy of each candidate block, and the chosen one.

    Attributes:
        backbone: the chosen backbone, cut at the chosen block (the whole backbone when its last block won):
            give it as `backbone=` to `few_shot`, `meta_train` or `build_and_fit`; `backbone.name` is the
            string form (`"mobilenet:block9"`) a config or the command line takes for a registry backbone.
        block: the chosen block's name.
        scores: `{block: EpisodicScore}` in the backbone's order, under the chosen pooling.
        episodes: how many base-class episodes scored each block (the same episodes for all).
        pooling: the chosen pooling, to give as `few_shot(pooling=...)`.
        scores_by_pooling: `{pooling: {block: EpisodicScore}}` for every pooling scored.
    """

    backbone: BackboneSpec
    block: str
    scores: dict[str, EpisodicScore]
    episodes: int
    pooling: str = "average"
    scores_by_pooling: dict[str, dict[str, EpisodicScore]] = field(default_factory=dict)

    def _tables(self) -> dict[str, dict[str, EpisodicScore]]:
        return self.scores_by_pooling or {self.pooling: self.scores}

    def to_dataframe(self):
        """A `pandas.DataFrame`: block, pooling, mean accuracy, 95% CI half-width, chosen."""
        import pandas as pd

        return pd.DataFrame([{"block": block, "pooling": pooling, "accuracy": score.mean, "ci95": score.ci95,
                              "chosen": (block, pooling) == (self.block, self.pooling)}
                             for pooling, table in self._tables().items() for block, score in table.items()])

    def __str__(self) -> str:
        tables = self._tables()
        rows = [f"{'block':>10}" + "".join(f" {pooling + ' pooling':>16}" for pooling in tables)]
        for block in self.scores:
            cells = "".join(f" {100 * table[block].mean:>8.1f} +- {100 * table[block].ci95:>4.1f}"
                            for table in tables.values())
            chosen = f" <- chosen ({self.pooling} pooling)" if block == self.block else ""
            rows.append(f"{block:>10}{cells}{chosen}")
        return f"Prototype accuracy on {self.episodes} base-class episodes per block:\n" + "\n".join(rows)


def choose_block(
    base_data: Any,
    *,
    backbone: Any = "mobilenet",
    weights: str | None = "imagenet",
    image_size: int | tuple | None = None,
    blocks: Sequence[str] | None = None,
    n_way: int = 5,
    k_shot: int = 1,
    queries: int = 15,
    episodes: int = 200,
    distance: str = "cosine",
    poolings: Sequence[str] = ("average",),
    seed: int = 0,
    batch_size: int = 64,
) -> BlockChoice:
    """Scores prototypes on each block's pooled features over base-class episodes and picks the best block.

    Args:
        base_data: labelled images of base classes (any source `load_data` reads), at least `n_way` classes; never
            the classes the few-shot model will be asked about, whose few images cannot judge this choice.
        backbone: a registry name, a `BackboneSpec` or a `keras.Model`.
        weights: the backbone's weights (`"imagenet"` or a weights file).
        image_size: the input size (default: the backbone's).
        blocks: the candidate block names (default: every block but the stem).
        n_way, k_shot, queries: the shape of the scoring episodes (the shot you will use).
        episodes: how many episodes (the same for every block).
        distance: `"cosine"` or `"euclidean"`.
        poolings: how each block's feature map is pooled, each scored on the same episodes (`"average"`,
            `"grid"`: see `keras_transfer.fewshot.pooling`); the best (block, pooling) pair wins, the first
            pooling listed on a tie.
        seed: seeds the episodes.
        batch_size: images per forward pass.

    Returns:
        A `BlockChoice`.

    Raises:
        ValueError: fewer than `n_way` base classes, too few images a class, or an unknown block.

    Example:
        >>> choice = keras_transfer.choose_block((x_base, y_base), backbone="mobilenet", weights=w, image_size=64)
        >>> print(choice)                       # accuracy per block
        >>> result = keras_transfer.few_shot(support, backbone=choice.backbone, weights=w, image_size=64)
        >>> choice = keras_transfer.choose_block(base, weights=w, poolings=("average", "grid"))
        >>> result = keras_transfer.few_shot(support, backbone=choice.backbone, pooling=choice.pooling, weights=w)
    """
    check_distance(distance)
    if not poolings:
        raise ValueError("poolings must name at least one pooling ('average', 'grid').")
    for pooling in poolings:
        check_pooling(pooling)
    spec = resolve_backbone(backbone)
    size = size_pair(image_size or spec.default_size)
    images, labels, class_names = base_pixels(base_data, size)
    if len(class_names) < n_way:
        raise ValueError(f"choose_block draws {n_way}-way episodes from the base classes, but base_data has "
                         f"{len(class_names)} class(es) {class_names}: give at least {n_way} base classes, or a "
                         "smaller n_way.")
    tasks = draw_episodes(labels, n_way, k_shot, queries, episodes, seed)
    network = spec.build(size, weights)
    features = pooled_block_features(spec, network, images, blocks, batch_size, tuple(dict.fromkeys(poolings)))
    tables = {pooling: {block: score_episodes("prototypes", tasks, lambda task, found=found:
                                              prototype_accuracy(found, task, distance))
                        for block, found in table.items()}
              for pooling, table in features.items()}
    pooling, best = max(((pooling, block) for pooling, table in tables.items() for block in table),
                        key=lambda pair: tables[pair[0]][pair[1]].mean)
    whole = best == spec.blocks(network)[-1].name and not spec.output_block
    return BlockChoice(backbone=spec if whole else spec.truncated(best), block=best, scores=tables[pooling],
                       episodes=len(tasks), pooling=pooling, scores_by_pooling=tables)


def block_features(spec: BackboneSpec, network: keras.Model, images: np.ndarray,
                   blocks: Sequence[str] | None = None, batch_size: int = 64,
                   pooling: str = "average") -> dict[str, np.ndarray]:
    """`{block: (N, D) pooled output}` of each block, from one forward pass per batch.

    Args:
        spec: the backbone.
        network: `spec.build(size, weights)`.
        images: (N, H, W, 3) RGB 0-255 pixels (resized to the network's input size when they differ).
        blocks: the block names (default: every block but the stem).
        batch_size: images per forward pass.
        pooling: `"average"` ((N, C) global averages) or `"grid"` (averages over at most 4 x 4 cells, side by
            side), as `few_shot(pooling=...)` embeds.

    Returns:
        The pooled features, in the backbone's block order.

    Raises:
        ValueError: a block the backbone does not have, naming those it has.

    Example:
        >>> spec = get_backbone("mobilenet")
        >>> features = block_features(spec, spec.build(64, w), pixels, ["block9", "block13"])
    """
    return pooled_block_features(spec, network, images, blocks, batch_size, (pooling,))[pooling]


def pooled_block_features(spec: BackboneSpec, network: keras.Model, images: np.ndarray,
                          blocks: Sequence[str] | None = None, batch_size: int = 64,
                          poolings: Sequence[str] = ("average",)) -> dict[str, dict[str, np.ndarray]]:
    """`{pooling: {block: (N, D) pooled output}}`: each block's map pooled every way, from one forward pass per batch.

    Args and Raises: as `block_features`, with `poolings` (`"average"`, `"grid"`) for its `pooling`.

    Example:
        >>> tables = pooled_block_features(spec, spec.build(64, w), pixels, poolings=("average", "grid"))
    """
    found = {block.name: block for block in spec.blocks(network)}
    names = list(blocks) if blocks is not None else [name for name in found if name != "stem"]
    unknown = [name for name in names if name not in found]
    if unknown:
        raise ValueError(f"{spec.name} has no block(s) {unknown}: its blocks are {list(found)}.")
    size = tuple(int(side) for side in network.inputs[0].shape[1:3])
    inputs = keras.Input((*size, 3))
    maps = keras.Model(network.inputs, [found[name].layers[-1].output for name in names])(
        spec.preprocessing_layer()(inputs))
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    keys = [(pooling, name) for pooling in poolings for name in names]
    pooled = keras.Model(inputs, [pool_feature_map(maps[names.index(name)], pooling) for pooling, name in keys])
    chunks = [pooled(model_pixels(images[start:start + batch_size], size), training=False)
              for start in range(0, len(images), batch_size)]
    chunks = [chunk if isinstance(chunk, (list, tuple)) else [chunk] for chunk in chunks]
    tables: dict[str, dict[str, np.ndarray]] = {pooling: {} for pooling in poolings}
    for index, (pooling, name) in enumerate(keys):
        tables[pooling][name] = np.concatenate([keras.ops.convert_to_numpy(chunk[index])
                                                for chunk in chunks]).astype("float32")
    return tables
