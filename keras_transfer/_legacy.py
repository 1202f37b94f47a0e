"""Old flat module paths (`keras_transfer.synthetic`, `.exporter`, ...) kept importable.

Before 0.2 the package was 26 modules in one folder. User code, notebooks and
saved scripts import those paths; each now names the module in a subpackage
that holds the same code. The alias is the module itself (not a copy), so
`keras_transfer.exporter.export is keras_transfer.serving.export.export`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Old path -> the module that holds its code now. `data`, `cli`, `demo` and `datasets` are packages
# whose `__init__` exports the old module's public names, so they need no alias.
LEGACY_MODULES = {
    "keras_transfer.layers": "keras_transfer.models.preprocessing",
    "keras_transfer.backbones": "keras_transfer.models.backbones",
    "keras_transfer.model": "keras_transfer.models.classifier",
    "keras_transfer.pretrained": "keras_transfer.models.pretrained",
    "keras_transfer.images": "keras_transfer.data.images",
    "keras_transfer.scan": "keras_transfer.data.scan",
    "keras_transfer.pipeline": "keras_transfer.data.pipeline",
    "keras_transfer.augmentation": "keras_transfer.data.augmentation",
    "keras_transfer.generator": "keras_transfer.data.keras2",
    "keras_transfer.training": "keras_transfer.train",
    "keras_transfer.features": "keras_transfer.train.feature_cache",
    "keras_transfer.resume": "keras_transfer.train.callbacks.resume",
    "keras_transfer.baselines": "keras_transfer.methods",
    "keras_transfer.evaluate": "keras_transfer.evaluation.evaluate",
    "keras_transfer.plots": "keras_transfer.evaluation.plots",
    "keras_transfer.report": "keras_transfer.evaluation.report",
    "keras_transfer.exporter": "keras_transfer.serving.export",
    "keras_transfer.inference": "keras_transfer.serving.inference",
    "keras_transfer.fit": "keras_transfer.recipes",
    "keras_transfer.synthetic": "keras_transfer.testing.synthetic",
    "keras_transfer.brokenfiles": "keras_transfer.testing.brokenfiles",
}


class _LegacyModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module path with the module that holds its code now."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in LEGACY_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(LEGACY_MODULES[spec.name])

    def exec_module(self, module):
        """The module ran when it was first imported under its new path."""


def install() -> None:
    """Puts the finder on `sys.meta_path` once."""
    if not any(isinstance(finder, _LegacyModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_LegacyModuleFinder())
