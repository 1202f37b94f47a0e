"""The method interface: what every transfer method declares and does, and the registry that finds one by name.

A method is a sibling class, not a flag (as timm's task classes are): it
trains a plain classifier from a `RunContext` the recipe prepared, and
returns a `MethodResult`. The recipe stays the same for every method: load
data, build the model, `method.fit(context)`, score the baselines through
the same interface, keep the better model, report.

What a method declares:
    name: its registry key (`build_and_fit(method=name)`).
    extra_data: config options holding data it needs beyond the labelled
        training set (e.g. an unlabeled target set, a teacher model, a support
        set); the recipe checks they are given.
    uses_stages: whether it runs the stage plan (`stages=` / `epochs=`).
    needs_pretrained: whether it needs pretrained weights (a probe does).
    uses_features: whether it reads the frozen pretrained features
        (`context.features()`): the recipe extracts them once, before any
        method trains the shared model.
    combines_with: the other methods it may run beside as a baseline or
        inside (see `docs/architecture.md`); pairs outside it raise.
    option_defaults: its own options (`method_options=` in the config), with
        their defaults; unknown ones raise.
    honest_baseline: the plain alternative it must beat (scored whenever it
        runs; the better model is kept, with a warning).

The exported model is always a plain classifier (pixels in, probabilities
out): no domain head, adapters merged, prototypes as weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import keras

if TYPE_CHECKING:
    from keras_transfer.recipes.context import RunContext

_REGISTRY: dict[str, type[TransferMethod]] = {}


@dataclass
class MethodResult:
    """What a method hands back to the recipe.

    Attributes:
        model: the trained plain classifier (RGB pixels 0-255 in, probabilities out).
        history: one dict per stage or step it ran (name, epochs_run, best_value, metrics, ...).
        kept_stage: the stage whose weights `model` ends with, if it ran stages.
        warnings: sentences for the user (the recipe prints and reports them).
        record: what the method adds to the report and `FitResult.method_record`
            (its settings as resolved, figures it measured).
    """

    model: keras.Model
    history: list[dict] = field(default_factory=list)
    kept_stage: str | None = None
    warnings: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)


class TransferMethod:
    """The base class of every transfer method.

    Subclass it, set `name`, and implement `fit`. Register it with
    `@register_method` to choose it by name (and rerun it from a config), or
    pass an instance as `build_and_fit(method=MyMethod())`.

    Args:
        **options: the method's options; each must be in `option_defaults`.

    Example:
        >>> @register_method
        ... class HingeHead(TransferMethod):
        ...     name = "hinge_head"
        ...     needs_pretrained = True
        ...     def fit(self, context):
        ...         features, labels = context.features()
        ...         ...
        ...         return MethodResult(model)
        >>> build_and_fit("photos/", method="hinge_head")
    """

    name: ClassVar[str] = ""
    extra_data: ClassVar[tuple[str, ...]] = ()
    uses_stages: ClassVar[bool] = False
    needs_pretrained: ClassVar[bool] = False
    uses_features: ClassVar[bool] = False
    combines_with: ClassVar[frozenset[str]] = frozenset()
    option_defaults: ClassVar[Mapping[str, Any]] = {}
    honest_baseline: ClassVar[str | None] = None

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.option_defaults))
        if unknown:
            known = sorted(self.option_defaults) or "none"
            raise ValueError(f"Method {self.name!r} has no option(s) {unknown}; its options are: {known}.")
        self.options = {**self.option_defaults, **options}

    def get_config(self) -> dict[str, Any]:
        """The method's options, as `method_options` records them (round-trips through the constructor)."""
        return dict(self.options)

    def check(self, context: RunContext) -> None:
        """Raises a clear error when the run cannot use this method (called before training).

        The base checks pretrained weights and the extra data; override to add
        checks and call `super().check(context)`.
        """
        if self.needs_pretrained and not context.pretrained:
            raise ValueError(f"A {self.name.replace('_', ' ')} needs pretrained weights: with weights=None there "
                             "is nothing to transfer. Pass weights='imagenet' or a weights file.")
        for option_name in self.extra_data:
            if context.config.get(option_name) is None:
                raise ValueError(f"Method {self.name!r} needs {option_name}=: give it to build_and_fit.")

    def feature_views(self, context: RunContext) -> int | None:
        """How many augmented views of the frozen features this run needs from the shared extraction.

        Returns:
            None when the method reads no features; else the number of
            augmented views per training image (0: the clean images only).
            The recipe extracts once, for the largest number asked, before any
            method trains the shared model.
        """
        return 0 if self.uses_features else None

    def fit(self, context: RunContext) -> MethodResult:
        """Trains and returns the classifier. Every method implements this."""
        raise NotImplementedError(f"{type(self).__name__} must implement fit(context).")


def register_method(method_class: type[TransferMethod]) -> type[TransferMethod]:
    """Class decorator: makes a method choosable by its `name` (and rerunnable from a config).

    Args:
        method_class: a `TransferMethod` subclass with a non-empty `name`.

    Returns:
        The class, unchanged.

    Raises:
        ValueError: no name, or the name is taken by another class.

    Example:
        >>> @register_method
        ... class MyMethod(TransferMethod):
        ...     name = "my_method"
    """
    name = getattr(method_class, "name", "")
    if not name:
        raise ValueError(f"{method_class.__name__} needs a class attribute `name` to be registered.")
    existing = _REGISTRY.get(name)
    if existing is not None and existing.__qualname__ != method_class.__qualname__:
        raise ValueError(f"A method named {name!r} is registered already ({existing.__qualname__}): "
                         "choose another name.")
    _REGISTRY[name] = method_class
    return method_class


def list_methods() -> list[str]:
    """The names `build_and_fit(method=...)` and `baselines=[...]` accept.

    Example:
        >>> list_methods()
        ['fine_tune', 'linear_probe', 'scratch']
    """
    _load_builtin_methods()
    return sorted(_REGISTRY)


def resolve_method(method: str | TransferMethod, options: Mapping[str, Any] | None = None) -> TransferMethod:
    """A method instance from a registered name (with its options) or an instance.

    Args:
        method: a name from `list_methods()` or a `TransferMethod` instance.
        options: the method's options (with a name only).

    Returns:
        The `TransferMethod`.

    Raises:
        ValueError: an unknown name, or options given with an instance.
    """
    if isinstance(method, TransferMethod):
        if options:
            raise ValueError("Give method_options only with a method name; an instance has its options already.")
        return method
    _load_builtin_methods()
    if method not in _REGISTRY:
        raise ValueError(f"Unknown method {method!r}: choose from {sorted(_REGISTRY)}, or register your own "
                         "with @keras_transfer.register_method.")
    return _REGISTRY[method](**dict(options or {}))


def check_combination(main: TransferMethod, others: list[str]) -> None:
    """Raises when a method is asked to run beside one it does not combine with.

    Args:
        main: the run's method.
        others: the names of the methods to run beside it (the baselines).

    Raises:
        ValueError: a pair that is not supported, naming it and what is.
    """
    for other in others:
        if other != main.name and other not in main.combines_with:
            supported = sorted(main.combines_with) or "none"
            raise ValueError(f"Method {main.name!r} cannot be combined with {other!r}; it combines with: "
                             f"{supported}. See docs/architecture.md for the table of combinations.")


def _load_builtin_methods() -> None:
    """The built-in methods register themselves on import."""
    from keras_transfer.methods import fine_tune, linear_probe, scratch  # noqa: F401
