"""Option values of the `keras-transfer` command line: text in, library arguments out.

Each parser raises `ValueError` with a message that names the option, which
`keras-transfer` prints as a one-line `error:`.

Example:
    >>> parse_image_size("224x160"), parse_weights("none"), parse_list("linear_probe, scratch")
    ((224, 160), None, ['linear_probe', 'scratch'])
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def data_argument(text: str) -> str:
    """A data source for `build_and_fit`/`load_data`: `tfds:` names as they are, paths made absolute.

    Absolute paths keep a saved config valid from any working directory.

    Args:
        text: a folder, a CSV file or `tfds:NAME[:SPLIT]`.

    Returns:
        The source string.

    Example:
        >>> data_argument("tfds:tf_flowers")
        'tfds:tf_flowers'
    """
    if text.startswith("tfds:"):
        return text
    return str(Path(text).expanduser().absolute())


def parse_weights(text: str) -> str | None:
    """`--weights`: `imagenet`, `none` (from scratch) or a weights file.

    Args:
        text: the option value.

    Returns:
        `"imagenet"`, None or the path.

    Example:
        >>> parse_weights("none") is None
        True
    """
    lowered = text.strip().lower()
    if lowered in ("none", "scratch", "random", ""):
        return None
    if lowered == "imagenet":
        return "imagenet"
    return str(Path(text).expanduser().absolute())


def parse_image_size(text: str) -> int | tuple[int, int]:
    """`--image-size`: `224`, `224x160` or `224,160` (height, width).

    Args:
        text: the option value.

    Returns:
        An int or a (height, width) tuple.

    Raises:
        ValueError: anything else.

    Example:
        >>> parse_image_size("224x160")
        (224, 160)
    """
    parts = text.lower().replace(",", "x").split("x")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise ValueError(f"--image-size must be a positive size like 224 or 224x160, got {text!r}.")
    return sizes[0] if len(sizes) == 1 else (sizes[0], sizes[1])


def parse_augmentation(text: str) -> str | dict | None:
    """`--augmentation`: `default`, `none`, a JSON object of options, or a .json file holding one.

    Args:
        text: the option value.

    Returns:
        `"default"`, None or the options dict.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_augmentation('{"horizontal_flip": true}')
        {'horizontal_flip': True}
    """
    lowered = text.strip().lower()
    if lowered == "default":
        return "default"
    if lowered in ("none", "off", "false"):
        return None
    options = json_value(text, "--augmentation")
    if not isinstance(options, dict):
        raise ValueError(f'--augmentation must be "default", "none" or a JSON object of options, got {text!r}.')
    return options


def parse_stages(text: str) -> str | list:
    """`--stages`: `default`, a JSON list (or object) of stages, or a JSON/YAML file holding one.

    Args:
        text: the option value.

    Returns:
        `"default"` or a list of stage dicts.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_stages('[{"name": "head", "epochs": 2}]')
        [{'name': 'head', 'epochs': 2}]
    """
    if text.strip().lower() == "default":
        return "default"
    path = Path(text).expanduser()
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        import yaml

        stages = yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        stages = json_value(text, "--stages")
    if isinstance(stages, dict):
        stages = [stages]
    if not isinstance(stages, list) or not all(isinstance(stage, dict) for stage in stages):
        raise ValueError(f"--stages must be a JSON list of stage objects (or a file holding one), got {text!r}.")
    return stages


def parse_class_weight(text: str) -> str | dict[int, float] | None:
    """`--class-weight`: `balanced`, `none` or a JSON object `{"class index": weight}`.

    Args:
        text: the option value.

    Returns:
        `"balanced"`, None or `{index: weight}`.

    Raises:
        ValueError: not one of these.

    Example:
        >>> parse_class_weight('{"0": 1, "1": 3.5}')
        {0: 1.0, 1: 3.5}
    """
    lowered = text.strip().lower()
    if lowered == "balanced":
        return "balanced"
    if lowered == "none":
        return None
    weights = json_value(text, "--class-weight")
    if not isinstance(weights, dict):
        raise ValueError(f'--class-weight must be "balanced", "none" or a JSON object, got {text!r}.')
    try:
        return {int(key): float(value) for key, value in weights.items()}
    except (TypeError, ValueError):
        raise ValueError(f'--class-weight keys must be class indices and values numbers, e.g. {{"0": 1, "1": 3}}; '
                         f"got {text!r}.") from None


def parse_list(text: str) -> list[str]:
    """A comma-separated option value as a list (spaces and empty items dropped).

    Args:
        text: e.g. `"linear_probe, scratch"`.

    Returns:
        The items.

    Example:
        >>> parse_list("float32, int8")
        ['float32', 'int8']
    """
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_fraction(value: float) -> float:
    """`--validation-split`: a share in [0, 1).

    Args:
        value: the option value.

    Returns:
        The value.

    Raises:
        ValueError: outside [0, 1).

    Example:
        >>> parse_fraction(0.2)
        0.2
    """
    if not 0 <= value < 1:
        raise ValueError(f"--validation-split must be in [0, 1), got {value}.")
    return value


def positive_int(option: str) -> Callable[[int], int]:
    """A check for an option that takes a count of at least 1.

    Args:
        option: the option's name, for the message (e.g. `"--epochs"`).

    Returns:
        A function that returns its value as an int, or raises `ValueError` when it is below 1.

    Example:
        >>> positive_int("--epochs")(3)
        3
    """

    def check(value: int) -> int:
        if int(value) < 1:
            raise ValueError(f"{option} must be at least 1, got {value}.")
        return int(value)

    return check


def existing_weights_file(path: str, option: str = "--weights") -> str:
    """A weights file's path, checked to exist.

    Args:
        path: the path given.
        option: the option's name, for the message.

    Returns:
        The path.

    Raises:
        FileNotFoundError: nothing at `path`.

    Example:
        >>> existing_weights_file("/abs/w.weights.h5")
        '/abs/w.weights.h5'
    """
    if not Path(path).exists():
        raise FileNotFoundError(f"{option} {path} does not exist: give imagenet, none or a weights file.")
    return path


def json_value(text: str, option: str) -> Any:
    """A JSON value given inline or as the path of a .json file.

    Args:
        text: the option value: JSON text, or a `.json` file's path.
        option: the option's name, for the message.

    Returns:
        The decoded value.

    Raises:
        ValueError: not valid JSON.

    Example:
        >>> json_value('{"0": 2}', "--class-weight")
        {'0': 2}
    """
    path = Path(text).expanduser()
    if path.suffix.lower() == ".json" and path.is_file():
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{option} is not valid JSON ({error.msg}): {text!r}.") from None


def declare_options(options: Sequence[tuple[tuple[str, ...], dict]]) -> Callable[[argparse.ArgumentParser],
                                                                                 argparse.ArgumentParser]:
    """A subcommand's `add_arguments` from a table of `(flags, argparse keywords)`.

    Args:
        options: the options, in the order `--help` lists them.

    Returns:
        `add_arguments(parser) -> parser`, which declares them.

    Example:
        >>> add = declare_options([(("--top-k",), dict(type=int, default=1))])
        >>> add(argparse.ArgumentParser()).parse_args([]).top_k
        1
    """

    def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        for flags, keywords in options:
            parser.add_argument(*flags, **keywords)
        return parser

    add_arguments.__doc__ = "Declares: " + ", ".join(flags[0] for flags, _ in options) + "."
    return add_arguments
