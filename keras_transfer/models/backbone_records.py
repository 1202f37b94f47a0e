"""How a run's backbone is written into its config, and read back for a rerun.

A registry backbone is its name. A user's own `keras.Model` (`custom_backbone`)
is saved as `backbone.keras` in the run's `output_dir` before training, with
its preprocessing mode and its blocks, so `build_and_fit_from_config` can
rebuild the same `BackboneSpec`. Without an `output_dir`, or with a Python
callable as preprocessing, nothing can be saved: the config says
`"<custom:NAME>"`, and a rerun asks for `backbone=`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_transfer.models.backbones import BackboneSpec, custom_backbone, resolve_backbone
from keras_transfer.models.classifier import load_model
from keras_transfer.serialization import is_remote

BACKBONE_FILE = "backbone.keras"


def record_backbone(spec: BackboneSpec, output_dir: str | os.PathLike | None) -> str | dict[str, Any]:
    """The config's record of a backbone (saving a user's model in `output_dir`).

    Args:
        spec: the run's backbone.
        output_dir: the run's folder (None: a custom backbone cannot be saved).

    Returns:
        The registry name (`"mobilenet:block9"` when truncated); for a custom backbone `{"custom": path, "name",
        "preprocessing", "blocks"}` (and `"output_block"` when truncated), or
        `"<custom:NAME>"` when it cannot be saved.

    Example:
        >>> record_backbone(get_backbone("vgg16"), None)
        'vgg16'
    """
    if spec.user_model is None:
        return spec.name
    if output_dir is None or not isinstance(spec.preprocessing, str):
        return f"<custom:{spec.name}>"
    if is_remote(output_dir):  # a bucket: Keras saves .keras files to gfile paths itself
        path = f"{str(output_dir).rstrip('/')}/{BACKBONE_FILE}"
    else:
        local = Path(output_dir) / BACKBONE_FILE
        local.parent.mkdir(parents=True, exist_ok=True)
        path = str(local.absolute())
    spec.user_model.save(path)
    blocks = {block.name: block.layer_names for block in spec.blocks(spec.user_model)}
    record = {"custom": path, "name": spec.name, "preprocessing": spec.preprocessing, "blocks": blocks}
    if spec.output_block:
        record["output_block"] = spec.output_block
    return record


def resolve_recorded_backbone(backbone: Any) -> BackboneSpec:
    """A `BackboneSpec` from anything `build_and_fit` or a config gives: a name, a spec, a model or a record.

    Args:
        backbone: a registry name, a `BackboneSpec`, a `keras.Model`, or a record `record_backbone` wrote.

    Returns:
        The `BackboneSpec`.

    Raises:
        ValueError: a `"<custom:NAME>"` record (the model was not saved) or a record whose file is gone.
    """
    if isinstance(backbone, str) and backbone.startswith("<custom:"):
        raise ValueError(f"The config's backbone was {backbone}, a custom keras.Model that was not saved (the run had "
                         "no output_dir, or its preprocessing was a Python function): pass backbone=.")
    if not isinstance(backbone, Mapping):
        return resolve_backbone(backbone)
    path = Path(str(backbone.get("custom", "")))
    if not path.is_file():
        raise ValueError(f"The config's custom backbone file {path} does not exist: restore it, or pass backbone=.")
    spec = custom_backbone(load_model(path), preprocessing=backbone.get("preprocessing", "none"),
                           blocks=backbone.get("blocks"), name=backbone.get("name"))
    return spec.truncated(backbone["output_block"]) if backbone.get("output_block") else spec
