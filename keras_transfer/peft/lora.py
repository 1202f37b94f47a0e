"""LoRA on a backbone's Dense and Conv layers: Keras' own `enable_lora`, and merging the adapters for export.

Keras 3 gives Dense, EinsumDense, Embedding and ConvND layers `enable_lora(rank,
lora_alpha)`: the kernel freezes and `kernel + alpha / rank * A @ B` is used,
with `B` starting at zero (the model's outputs do not change when LoRA is
enabled). Their `save_own_variables` already writes the merged kernel, so
`merge_lora` rebuilds the model without LoRA and loads those merged weights:
the result is a plain model with no extra serving cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

LORA_CONFIG_KEYS = ("lora_rank", "lora_alpha")


def lora_capable(layers: Sequence[keras.layers.Layer]) -> list[keras.layers.Layer]:
    """The layers among `layers` that `enable_lora` can adapt (built Dense/Conv layers without kernel constraints).

    Example:
        >>> [layer.name for layer in lora_capable(backbone.layers)][:2]
        ['conv1', 'conv_pw_1']
    """
    return [layer for layer in layers
            if hasattr(layer, "enable_lora") and layer.built and getattr(layer, "kernel_constraint", None) is None]


def enable_lora(layers: Sequence[keras.layers.Layer], rank: int,
                alpha: float | None = None) -> list[keras.layers.Layer]:
    """Enables LoRA (`layer.enable_lora(rank, lora_alpha=alpha)`) on every capable layer among `layers`.

    Layers that already have LoRA keep it when the rank and alpha match.

    Args:
        layers: backbone layers (others are skipped: see `lora_capable`).
        rank: the adapters' rank.
        alpha: the scale numerator (default: the rank, as Keras does).

    Returns:
        The layers that have LoRA now.

    Raises:
        ValueError: a layer has LoRA already with another rank or alpha.

    Example:
        >>> adapted = enable_lora(backbone.layers, rank=4)
    """
    alpha = rank if alpha is None else alpha
    adapted = []
    for layer in lora_capable(layers):
        if getattr(layer, "lora_enabled", False):
            if (layer.lora_rank, float(layer.lora_alpha)) != (rank, float(alpha)):
                raise ValueError(f"Layer {layer.name!r} has LoRA rank {layer.lora_rank} (alpha {layer.lora_alpha}) "
                                 f"already; a stage asked for rank {rank} (alpha {alpha}). Use one rank and alpha "
                                 "for every LoRA stage that adapts the same blocks.")
        else:
            layer.enable_lora(rank, lora_alpha=alpha)
        adapted.append(layer)
    return adapted


def lora_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer inside `model` (nested ones included) that has LoRA enabled."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if getattr(layer, "lora_enabled", False)]


def has_lora(model: keras.Model) -> bool:
    """Whether any layer inside `model` has LoRA enabled."""
    return bool(lora_layers(model))


def merge_lora(model: keras.Model) -> keras.Model:
    """A copy of `model` with every LoRA adapter merged into its kernel: a plain model, no extra serving cost.

    The copy is built from the model's config without `lora_rank`/`lora_alpha`
    (and without its compile settings), then each layer loads what the LoRA
    model's layer saves (`save_own_variables`: Keras writes `kernel + alpha /
    rank * A @ B` for a LoRA layer). A model without LoRA is returned as it is.

    Args:
        model: a model with LoRA-enabled layers (e.g. after a `parameters="lora"` stage).

    Returns:
        The merged model (uncompiled), or `model` itself when it has no LoRA.

    Example:
        >>> plain = merge_lora(model)
        >>> float(abs(plain.predict(x) - model.predict(x)).max()) < 1e-5
        True
    """
    if not has_lora(model):
        return model
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)
    plain = keras.saving.deserialize_keras_object(_without_lora(config))
    source = model._flatten_layers(include_self=True, recursive=True)
    target = plain._flatten_layers(include_self=True, recursive=True)
    for old, new in zip(source, target, strict=True):
        # Same class in the same place; names may differ where Keras numbers nested layers it named itself
        # (a KerasHub transformer layer's inner Dropout: dropout_3 in the model, dropout_5 in its rebuild).
        if type(old) is not type(new) or (old.name != new.name and not _auto_named_pair(old.name, new.name)):
            raise ValueError(f"Cannot merge LoRA: the rebuilt model's layer {new.name!r} stands where {old.name!r} "
                             "was. Merge by saving the model (model.save) and loading it instead.")
        store: dict = {}
        old.save_own_variables(store)
        new.load_own_variables(store)
    return plain


def _auto_named_pair(old: str, new: str) -> bool:
    """Whether two layer names differ only in the number Keras appends to names it generates (`dropout_3`)."""
    return old.rstrip("0123456789").rstrip("_") == new.rstrip("0123456789").rstrip("_")


def _without_lora(config: Any) -> Any:
    """The serialised model with the LoRA settings removed from every layer config."""
    if isinstance(config, dict):
        return {key: _without_lora(value) for key, value in config.items() if key not in LORA_CONFIG_KEYS}
    if isinstance(config, list):
        return [_without_lora(value) for value in config]
    return config
