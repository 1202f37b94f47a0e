"""Which variables a parameter-efficient stage trains: LoRA adapters, bias vectors or normalisation scales/offsets.

`tuned_variables(layers, parameters)` names the set; `train_only(layers,
variables)` makes exactly that set trainable through each variable's own
`trainable` flag. BatchNormalization layers stay non-trainable as layers, so
Keras keeps running them in inference mode (their moving statistics never
move, even under `fit`'s `training=True`), while their `gamma` and `beta`
variables are marked trainable: `Model.trainable_weights` reads the variables'
flags, so the optimizer trains them.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

NORMALIZATION_LAYERS = tuple(getattr(keras.layers, name) for name in (
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization")
    if hasattr(keras.layers, name))
NORMALIZATION_WEIGHTS = ("gamma", "beta", "scale")


def is_normalization(layer: keras.layers.Layer) -> bool:
    """Whether `layer` is a normalisation layer (BatchNorm, LayerNorm, GroupNorm, RMSNorm)."""
    return isinstance(layer, NORMALIZATION_LAYERS)


def bias_variables(layers: Sequence[keras.layers.Layer]) -> list[keras.Variable]:
    """The bias vectors of the convolution and dense layers among `layers` (BitFit's set).

    Args:
        layers: backbone layers.

    Returns:
        Each layer's `bias` variable, for the layers that have one (`use_bias=True`).

    Example:
        >>> [v.path for v in bias_variables(keras.applications.VGG16(weights=None).layers)][:1]
        ['block1_conv1/bias']
    """
    return [layer.bias for layer in layers
            if not is_normalization(layer) and isinstance(getattr(layer, "bias", None), keras.Variable)]


def norm_variables(layers: Sequence[keras.layers.Layer]) -> list[keras.Variable]:
    """The scales and offsets (`gamma`, `beta`) of the normalisation layers among `layers`; never their statistics.

    Args:
        layers: backbone layers.

    Returns:
        The variables, layer by layer.

    Example:
        >>> [v.name for v in norm_variables([keras.layers.BatchNormalization()])]  # once built
        ['gamma', 'beta']
    """
    return [variable for layer in layers if is_normalization(layer) for variable in layer.weights
            if variable.name in NORMALIZATION_WEIGHTS]


def lora_variables(layers: Sequence[keras.layers.Layer]) -> list[keras.Variable]:
    """The LoRA adapter matrices of the layers that have LoRA enabled (`lora_kernel_a`/`_b`; an Embedding's,
    e.g. a text encoder's token embedding, are `lora_embeddings_a`/`_b`)."""
    return [variable for layer in layers if getattr(layer, "lora_enabled", False)
            for variable in ((layer.lora_kernel_a, layer.lora_kernel_b) if hasattr(layer, "lora_kernel_a")
                             else (layer.lora_embeddings_a, layer.lora_embeddings_b))]


def tuned_variables(layers: Sequence[keras.layers.Layer], parameters: str,
                    where: str = "these blocks") -> list[keras.Variable]:
    """The variables a stage with `parameters` trains in `layers` (LoRA must be enabled on them first).

    Args:
        layers: the layers of the stage's blocks.
        parameters: `"lora"`, `"bias"` or `"norm"`.
        where: how the error message names the layers (e.g. the backbone and blocks).

    Returns:
        The variables.

    Raises:
        ValueError: the set is empty (e.g. BitFit on a backbone whose
            convolutions have no bias), naming what to use instead.

    Example:
        >>> tuned_variables(backbone.layers, "norm")
    """
    chooser = {"lora": lora_variables, "bias": bias_variables, "norm": norm_variables}
    if parameters not in chooser:
        raise ValueError(f"parameters must be one of {sorted(chooser)} here, got {parameters!r}.")
    variables = chooser[parameters](layers)
    if variables:
        return variables
    if parameters == "bias":
        has_norm = bool(norm_variables(layers))
        raise ValueError(
            f"parameters='bias' (BitFit) has nothing to train in {where}: their convolution and dense layers have "
            "no bias vectors (use_bias=False"
            + (", as in MobileNet, ResNet and EfficientNet, where the BatchNorm offset that follows each "
               "convolution plays the bias' role). Use parameters='norm' to train those offsets (and scales)"
               if has_norm else ")")
            + ", or a backbone whose convolutions have biases (e.g. vgg16).")
    if parameters == "norm":
        raise ValueError(f"parameters='norm' has nothing to train in {where}: they have no normalisation layers "
                         "with a scale or offset. Use parameters='bias' or 'lora'.")
    raise ValueError(f"parameters='lora' has nothing to train in {where}: none of their layers is a Dense or "
                     "Conv layer that Keras' enable_lora can adapt (depthwise convolutions cannot). Choose other "
                     "blocks, or parameters='bias' or 'norm'.")


def train_only(layers: Sequence[keras.layers.Layer], variables: Sequence[keras.Variable],
               freeze_batchnorm: bool = True) -> None:
    """Makes exactly `variables` trainable among the weights of `layers`; every other weight of theirs freezes.

    A layer holding a chosen variable becomes trainable, except BatchNorm
    layers when `freeze_batchnorm` is on: they stay non-trainable as layers
    (inference mode: the moving statistics neither update nor normalise
    with batch statistics) while their chosen `gamma`/`beta` train. Call it
    after setting the layers' `trainable` flags (the setter resets the
    variables' flags), and rebuild the train function afterwards.

    Args:
        layers: the layers whose weights are decided.
        variables: the ones that train.
        freeze_batchnorm: keep BatchNorm layers in inference mode.

    Example:
        >>> train_only(backbone.layers, norm_variables(backbone.layers))
    """
    chosen = {id(variable) for variable in variables}
    for layer in layers:
        holds_chosen = any(id(variable) in chosen for variable in layer.weights)
        layer.trainable = holds_chosen and not (freeze_batchnorm and isinstance(layer, keras.layers.BatchNormalization))
        for variable in layer.weights:
            if id(variable) in chosen:
                variable.trainable = True
            elif variable.trainable:
                variable.trainable = False
