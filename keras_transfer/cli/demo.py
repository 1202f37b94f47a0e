"""`keras-transfer demo`: the Fashion-MNIST transfer-learning demo, with the options of `python -m keras_transfer.demo`.

Both take `keras_transfer.demo.add_demo_arguments`'s options and hand `demo_arguments(args)` to `run_demo`.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType

DEMO_MODULE = "keras_transfer.demo.transfer_demo"
HELP = "run the Fashion-MNIST transfer-learning demo"
# Replaced by the demo's own description when the demo is installed.
DESCRIPTION = "Runs keras_transfer.demo (not available in this installation)."


def demo_module() -> ModuleType:
    """The demo's module, `keras_transfer.demo.transfer_demo`.

    Returns:
        The module.

    Raises:
        ValueError: it is not installed.

    Example:
        >>> demo_module().DEFAULT_OUTPUT_DIR
        'saved_models'
    """
    try:
        return importlib.import_module(DEMO_MODULE)
    except ImportError as error:
        raise ValueError(f"The demo is not available in this installation ({error}).") from None


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Gives the `demo` subcommand the demo's own options and description.

    Without the demo installed, the subcommand takes anything, and running it is a user error.

    Args:
        parser: the `demo` subcommand's parser.

    Returns:
        `parser`.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["--seeds", "2"]).seeds
        [0, 1]
    """
    try:
        demo = demo_module()
    except ValueError:
        # Take every argument, options included, as one positional list, so that `run` gets to say why.
        parser.prefix_chars = "\0"
        parser.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        return parser
    parser.description = demo.DESCRIPTION
    return demo.add_demo_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer demo`: runs `keras_transfer.demo.run_demo` with the parsed options and prints its table.

    Args:
        args: the parsed `demo` namespace.

    Returns:
        0.

    Raises:
        ValueError: the demo module is not installed.

    Example:
        >>> run(build_parser().parse_args(["demo", "--smoke"]))
        0
    """
    demo = demo_module()
    result = demo.run_demo(**demo.demo_arguments(args))
    if args.quiet:
        print(result.table())
    return 0
