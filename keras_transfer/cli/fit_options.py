"""The `keras-transfer fit` options, generated from `FitConfig`: one flag per config option.

Each config field names its command-line kind (`option(..., cli="positive_int")`);
this module turns a kind into an argparse flag and its text into the value.
A field marked `library_only` has no flag (the reason is in the field).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from typing import Any

from keras_transfer.cli import options as values
from keras_transfer.recipes.config import FitConfig


@dataclass(frozen=True)
class Kind:
    """How one kind of option is spelled and read on the command line."""

    metavar: str | None
    parse: Callable[[str, str], Any]


def _text(text: str, flag: str) -> str:
    return text


def _number(convert: Callable[[str], Any], what: str) -> Callable[[str, str], Any]:
    def parse(text: str, flag: str) -> Any:
        try:
            return convert(text)
        except ValueError:
            raise ValueError(f"{flag} must be {what}, got {text!r}.") from None

    return parse


def _count(text: str, flag: str) -> int:
    value = _number(int, "a whole number")(text, flag)
    if value < 0:
        raise ValueError(f"{flag} must be 0 or more, got {value}.")
    return value


def _positive(text: str, flag: str) -> int:
    return values.positive_int(flag)(_number(int, "a whole number")(text, flag))


def _fraction(text: str, flag: str) -> float:
    return values.parse_fraction(_number(float, "a number")(text, flag))


def _choice(words: dict[str, Any], other: Callable[[str], Any] | None = None, what: str = "") -> Callable:
    """A value named by a word (`none`, `auto`, ...), else `other(text)` when given."""

    def parse(text: str, flag: str) -> Any:
        lowered = text.strip().lower()
        if lowered in words:
            return words[lowered]
        if other is None:
            raise ValueError(f"{flag} must be one of {sorted(words)}, got {text!r}.")
        return other(text)

    return parse


def _json_object(text: str, flag: str) -> dict:
    value = values.json_value(text, flag)
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object (or a .json file holding one), got {text!r}.")
    return value


def _candidates(text: str, flag: str) -> list:
    """`mobilenet:imagenet,vgg16:PATH,mobilenet:block9:imagenet`, or a JSON list (inline or a .json file).

    A truncated backbone (`NAME:BLOCK`) always names its weights after it, as the third part.
    """
    if text.strip().startswith("[") or text.strip().lower().endswith(".json"):
        value = values.json_value(text, flag)
        if not isinstance(value, list):
            raise ValueError(f"{flag} must be a JSON list of candidates, got {text!r}.")
        return value
    candidates = []
    for item in values.parse_list(text):
        parts = item.split(":")
        if len(parts) == 3:  # NAME:BLOCK:WEIGHTS
            parts = [f"{parts[0]}:{parts[1]}", parts[2]]
        backbone, weights = parts[0], parts[1] if len(parts) == 2 else ""
        if not backbone or len(parts) > 2:
            raise ValueError(f"{flag}: each candidate is NAME[:WEIGHTS] or NAME:BLOCK:WEIGHTS (weights: imagenet, "
                             f"none or a file), got {item!r}.")
        candidates.append([backbone, values.parse_weights(weights) if weights else "imagenet"])
    return candidates


_BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}

KINDS: dict[str, Kind] = {
    "text": Kind(None, _text),
    "int": Kind("N", _number(int, "a whole number")),
    "float": Kind("X", _number(float, "a number")),
    "fraction": Kind("FRACTION", _fraction),
    "positive_int": Kind("N", _positive),
    "count": Kind("N", _count),
    "bool": Kind(None, _text),  # a --flag/--no-flag pair; argparse gives True/False
    "list": Kind("LIST", lambda text, flag: values.parse_list(text)),
    "json": Kind("JSON", _json_object),
    "data": Kind("DATA", lambda text, flag: values.data_argument(text)),
    "weights": Kind("imagenet|none|PATH", lambda text, flag: values.parse_weights(text)),
    "image_size": Kind("SIZE", lambda text, flag: values.parse_image_size(text)),
    "augmentation": Kind("default|none|JSON", lambda text, flag: values.parse_augmentation(text)),
    "stages": Kind("JSON|FILE", lambda text, flag: values.parse_stages(text)),
    "class_weight": Kind("balanced|none|JSON", lambda text, flag: values.parse_class_weight(text)),
    "cache": Kind("auto|memory|none|PATH", _choice({"auto": "auto", "memory": "memory", "none": None,
                                                      "false": None}, other=str)),
    "head_init": Kind("linear_probe|none", _choice({"linear_probe": "linear_probe", "none": None})),
    "precision": Kind("auto|true|false|POLICY", _choice({"auto": "auto", **_BOOLEAN_WORDS}, other=str)),
    "jit": Kind("auto|true|false", _choice({"auto": "auto", **_BOOLEAN_WORDS})),
    "distribute": Kind("multi_worker|mirrored|tpu|auto|none", _choice({
        "multi_worker": "multi_worker", "mirrored": "mirrored", "tpu": "tpu", "auto": "auto", "none": None})),
    "candidates": Kind("NAME:WEIGHTS,...", _candidates),
    "peft": Kind("lora|bias|norm|none", _choice({"lora": "lora", "bias": "bias", "norm": "norm", "none": None})),
}

# Flags whose spelling predates the generated ones: kept so that scripts keep working.
SHORT_FLAGS: dict[str, tuple[str, ...]] = {}


def flag(name: str) -> str:
    """The command-line flag of a config option (`batch_size` -> `--batch-size`)."""
    return "--" + name.replace("_", "-")


def command_line_options() -> dict[str, str]:
    """`{option name: kind}` for every config option that has a flag (all but the library-only ones)."""
    return {name: option.metadata["cli"] for name, (_, option) in FitConfig.option_fields().items()
            if option.metadata["cli"] is not None}


def library_only_options() -> dict[str, str]:
    """`{option name: why it has no flag}`."""
    return {name: option.metadata["library_only"] for name, (_, option) in FitConfig.option_fields().items()
            if option.metadata["library_only"] is not None}


def add_config_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds DATA and one flag per config option to the `fit` parser.

    Options left out on the command line stay None, so `build_and_fit` (or the
    config given with `--config`) supplies them.

    Args:
        parser: the `fit` subcommand's parser.

    Returns:
        The parser.

    Example:
        >>> add_config_options(argparse.ArgumentParser()).parse_args(["photos", "--epochs", "3"]).epochs
        '3'
    """
    fields = FitConfig.option_fields()
    for name, kind_name in command_line_options().items():
        option = fields[name][1]
        default = option.default if option.default is not MISSING else option.default_factory()
        help_text = f"{option.metadata['help']} (default {default!r})".replace("%", "%%")
        if name == "data":
            parser.add_argument("data", nargs="?", metavar="DATA", help=help_text)
        elif kind_name == "bool":
            parser.add_argument(flag(name), *SHORT_FLAGS.get(name, ()), action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(flag(name), *SHORT_FLAGS.get(name, ()), metavar=KINDS[kind_name].metavar,
                                default=None, help=help_text)
    return parser


def config_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The config options the command line gave explicitly, parsed.

    Args:
        args: the parsed `fit` namespace.

    Returns:
        `{option name: value}` for each option given.

    Raises:
        ValueError: a value that cannot be understood, naming the flag.

    Example:
        >>> config_arguments(parser.parse_args(["photos", "--weights", "none"]))
        {'data': '/abs/path/photos', 'weights': None}
    """
    given: dict[str, Any] = {}
    for name, kind_name in command_line_options().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        given[name] = value if isinstance(value, bool) else KINDS[kind_name].parse(value, flag(name))
    return given
