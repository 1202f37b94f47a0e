"""Adapters: only the parameters a PEFT plan tuned (plus the head), saved alone and applied to a fresh backbone.

One pretrained backbone serves many tasks: each task keeps an adapter file of
its LoRA matrices, bias vectors or normalisation scales and offsets, and its
head, a few percent of the model file. `load_adapter(model, path)` applies
one to a classifier built with the same backbone and pretrained weights.

The file is a NumPy `.npz` (no pickled objects): the arrays, and a JSON
`meta` entry naming each array's layer and variable, the LoRA settings and
the classifier it came from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from keras_transfer.models.backbones import Block
from keras_transfer.models.classifier import get_backbone_layer
from keras_transfer.peft.lora import enable_lora, merge_lora
from keras_transfer.peft.parameters import tuned_variables

ADAPTER_FORMAT = "keras_transfer.adapter/1"


@dataclass
class Adapter:
    """The tuned parameters of a PEFT run: backbone variables by layer, LoRA settings, and the head's weights.

    Attributes:
        model_name: the classifier's name (e.g. `"mobilenet_classifier"`): it applies to the same architecture.
        parameters: the parameter sets that were tuned (e.g. `["lora"]`).
        variables: `{"layer/variable": array}` of the backbone's tuned variables.
        lora: `{layer name: {"rank": r, "alpha": a}}` of the LoRA-adapted layers.
        head: `{layer name: [arrays]}`: the weights of the layers outside the backbone.
        meta: anything recorded beside (class names, image size).

    Example:
        >>> adapter = Adapter.from_model(model, plan, blocks)
        >>> adapter.save("flowers.adapter.npz")
        >>> load_adapter(build_model("mobilenet", 5, weights=w, image_size=96), "flowers.adapter.npz")
    """

    model_name: str
    parameters: list[str]
    variables: dict[str, np.ndarray]
    lora: dict[str, dict] = field(default_factory=dict)
    head: dict[str, list[np.ndarray]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def parameter_count(self) -> int:
        """How many numbers the adapter holds (tuned backbone variables plus the head)."""
        head = sum(int(np.prod(array.shape)) for arrays in self.head.values() for array in arrays)
        return head + sum(int(np.prod(array.shape)) for array in self.variables.values())

    @classmethod
    def from_model(cls, model: keras.Model, stages: Sequence, blocks: Sequence[Block],
                   meta: dict | None = None) -> Adapter:
        """The adapter of a classifier after a plan whose backbone stages were all parameter-efficient.

        Args:
            model: the trained classifier (LoRA not yet merged).
            stages: the plan it ran (`Stage` objects).
            blocks: the backbone's blocks the plan selected from.
            meta: extra facts to record (class names, image size).

        Returns:
            The `Adapter`.

        Raises:
            ValueError: a stage trained whole blocks (`parameters="all"`), or no stage was parameter-efficient.
        """
        from keras_transfer.train.stages import select_blocks

        full = [stage.name for stage in stages if stage.trains_backbone and stage.parameters == "all"]
        if full:
            raise ValueError(f"Stage(s) {full} trained every weight of their blocks: an adapter holds the tuned "
                             "parameters of parameter-efficient stages only. Export the whole model instead "
                             "(result.export), or train with peft= / parameters='lora'|'bias'|'norm'.")
        peft = [stage for stage in stages if stage.trains_backbone]
        if not peft:
            raise ValueError("No stage of the plan trained backbone parameters: there is no adapter, only the "
                             "head. Use peft='lora'|'bias'|'norm' (or a stage with those parameters).")
        backbone = _backbone(model)
        variables: dict[str, np.ndarray] = {}
        lora: dict[str, dict] = {}
        for stage in peft:
            layers = [layer for block in select_blocks(blocks, stage.train_blocks) for layer in block.layers]
            for layer in layers:
                if stage.parameters == "lora" and getattr(layer, "lora_enabled", False):
                    lora[layer.name] = {"rank": int(layer.lora_rank), "alpha": float(layer.lora_alpha)}
            owner = {id(variable): layer.name for layer in layers for variable in layer.weights}
            for variable in tuned_variables(layers, stage.parameters):
                variables[f"{owner[id(variable)]}/{variable.name}"] = keras.ops.convert_to_numpy(variable)
        head = {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers
                if layer is not backbone and layer.weights}
        return cls(model.name, list(dict.fromkeys(stage.parameters for stage in peft)), variables, lora, head,
                   dict(meta or {}))

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the adapter as one `.npz` file (arrays plus a JSON `meta` entry; no pickles).

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"v{index}": array for index, array in enumerate(self.variables.values())}
        head_shapes = {}
        for layer_index, (name, weights) in enumerate(self.head.items()):
            head_shapes[name] = len(weights)
            arrays.update({f"h{layer_index}_{i}": array for i, array in enumerate(weights)})
        meta = {"format": ADAPTER_FORMAT, "model_name": self.model_name, "parameters": self.parameters,
                "variables": list(self.variables), "lora": self.lora, "head": head_shapes, "meta": self.meta}
        with path.open("wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Adapter:
        """Reads an adapter file that `save` wrote.

        Raises:
            FileNotFoundError: no file there.
            ValueError: the file is no keras_transfer adapter.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No adapter file at {path}: give the path result.save_adapter wrote.")
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"])) if "meta" in stored.files else {}
            if meta.get("format") != ADAPTER_FORMAT:
                raise ValueError(f"{path} is not a keras_transfer adapter (format {meta.get('format')!r}, expected "
                                 f"{ADAPTER_FORMAT!r}): write one with FitResult.save_adapter.")
            variables = {name: stored[f"v{index}"] for index, name in enumerate(meta["variables"])}
            head = {name: [stored[f"h{layer_index}_{i}"] for i in range(count)]
                    for layer_index, (name, count) in enumerate(meta["head"].items())}
        return cls(meta["model_name"], meta["parameters"], variables, meta["lora"], head, meta["meta"])

    def apply(self, model: keras.Model) -> keras.Model:
        """Sets the adapter's parameters on `model` (LoRA enabled where it was), in place.

        Args:
            model: a classifier of the same architecture, with the backbone's pretrained weights.

        Returns:
            `model`.

        Raises:
            ValueError: another architecture, or a layer or variable the model lacks or shapes differently.
        """
        if model.name != self.model_name:
            raise ValueError(f"This adapter was trained on a {self.model_name!r} model, not {model.name!r}: build "
                             "the classifier with the same backbone, classes and head.")
        backbone = _backbone(model)
        for name, settings in self.lora.items():
            enable_lora([_layer(backbone, name)], int(settings["rank"]), settings["alpha"])
        for key, value in self.variables.items():
            layer_name, _, variable_name = key.rpartition("/")
            layer = _layer(backbone, layer_name)
            matches = [variable for variable in layer.weights if variable.name == variable_name]
            if not matches or tuple(matches[0].shape) != value.shape:
                found = tuple(matches[0].shape) if matches else "none"
                raise ValueError(f"Cannot apply the adapter's {key} {value.shape}: the model's layer has {found}. "
                                 "Build the classifier exactly as the adapter's run did.")
            matches[0].assign(value)
        for name, weights in self.head.items():
            _layer(model, name).set_weights(weights)
        return model


def load_adapter(model: keras.Model, path: str | os.PathLike, merge: bool = False) -> keras.Model:
    """Applies a saved adapter (`FitResult.save_adapter`) to a classifier with the same pretrained backbone.

    Args:
        model: a classifier built like the run's (`build_model(backbone, num_classes, weights=...,
            image_size=...)`), holding the pretrained weights; it is changed in place.
        path: the adapter file.
        merge: return a copy with LoRA merged into the kernels (plain, for serving).

    Returns:
        The model with the task's parameters (merged when asked).

    Example:
        >>> model = keras_transfer.build_model("mobilenet", 10, weights=weights, image_size=96)
        >>> model = keras_transfer.load_adapter(model, "fashion.adapter.npz")
    """
    Adapter.load(path).apply(model)
    return merge_lora(model) if merge else model


def _backbone(model: keras.Model) -> keras.Model:
    backbone = get_backbone_layer(model)
    if backbone is None:
        raise ValueError(f"Model {model.name!r} has no layer named 'backbone': adapters apply to classifiers from "
                         "keras_transfer.build_model (or build_and_fit).")
    return backbone


def _layer(model: keras.Model, name: str) -> keras.layers.Layer:
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"The model has no layer {name!r} that the adapter tunes: build the classifier with the "
                         "same backbone as the adapter's run.") from None
