"""How a prototype classifier pools the backbone's last feature map into the embedding its prototypes live in.

`"average"` is the classifier's global average pooling: where in the image a feature fired is lost, which suits
photos whose objects sit anywhere. `"grid"` averages the map over a coarse grid (at most `GRID_SIDE` x
`GRID_SIDE` cells) and keeps the cells side by side, as the original prototypical networks kept their flattened
feature map (Snell et al. 2017): on images whose objects are centred and upright (digits, scanned documents,
product shots) the layout tells classes apart (a 6 from a 9, a sandal from a sneaker).
"""

from __future__ import annotations

import keras

from keras_transfer.fewshot.prototype_head import check_choice
from keras_transfer.train.feature_cache import FEATURE_LAYER, feature_model

POOLINGS = ("average", "grid")
GRID_SIDE = 4
GRID_FEATURES_LAYER = "features"


def check_pooling(pooling: str) -> str:
    """The pooling name (`"average"` or `"grid"`), checked: anything else is a ValueError naming the choices.

    Example:
        >>> check_pooling("grid")
        'grid'
    """
    return check_choice("pooling", pooling, POOLINGS, "'average' for photos whose objects sit anywhere, 'grid' for "
                        "centred, upright images (digits, documents, products)")


def grid_features_model(classifier: keras.Model, side: int = GRID_SIDE) -> keras.Model:
    """Pixels -> the backbone's last feature map averaged over a grid of at most `side` x `side` cells, flattened.

    Shares `classifier`'s layers (preprocessing and backbone). A map smaller than the grid keeps its own cells
    (MobileNet at 64 px: 2 x 2).

    Args:
        classifier: a `build_model` classifier whose backbone ends in a feature map (B, H, W, C).
        side: the most cells along each side.

    Returns:
        A `keras.Model` (pixels -> (B, cells x C)) whose last layer is named `"features"`.

    Raises:
        ValueError: the backbone gives pooled (B, D) features already, so there is no layout to keep.

    Example:
        >>> grid_features_model(build_model("mobilenet", 3, image_size=128)).output_shape
        (None, 16384)
    """
    names = {layer.name for layer in classifier.layers}
    if FEATURE_LAYER not in names:
        raise ValueError(f"pooling='grid' needs a backbone that ends in a feature map; {classifier.name!r} gives "
                         "pooled features already: use pooling='average'.")
    flat = pool_feature_map(classifier.get_layer(FEATURE_LAYER).input, "grid", side, name=GRID_FEATURES_LAYER)
    return keras.Model(classifier.inputs, flat, name="grid_features")


def pool_feature_map(feature_map, pooling: str, side: int = GRID_SIDE, name: str | None = None):
    """A (B, H, W, C) Keras tensor pooled as `pooling` says: (B, C) averages, or (B, cells x C) grid averages.

    Args:
        feature_map: a symbolic 4-D tensor.
        pooling: `"average"` or `"grid"`.
        side: the grid's most cells along each side.
        name: the name of the last layer (None: Keras names it).

    Returns:
        The pooled symbolic tensor.

    Example:
        >>> flat = pool_feature_map(backbone.output, "grid")
    """
    if check_pooling(pooling) == "average":
        return keras.layers.GlobalAveragePooling2D(name=name)(feature_map)
    height, width = int(feature_map.shape[1]), int(feature_map.shape[2])
    cells = keras.layers.AdaptiveAveragePooling2D((min(side, height), min(side, width)))(feature_map)
    return keras.layers.Flatten(name=name)(cells)


def pooled_features_model(classifier: keras.Model, pooling: str = "average") -> keras.Model:
    """Pixels -> the embedding `pooling` names (`"average"`: the classifier's own pooled features).

    Args:
        classifier: a `build_model` classifier.
        pooling: `"average"` or `"grid"`.

    Returns:
        A `keras.Model` sharing `classifier`'s layers.

    Example:
        >>> pooled_features_model(model, "grid")
    """
    if check_pooling(pooling) == "grid":
        return grid_features_model(classifier)
    return feature_model(classifier)
