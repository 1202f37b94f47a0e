"""`keras-transfer`: the command line for training, evaluating, exporting and serving classifiers.

Subcommands (each has `--help`, and its own module in `keras_transfer.cli`):

    keras-transfer fit DATA --output-dir RUN [options]        train, save config.json, export, write report.html
    keras-transfer fit --config RUN/config.json --output-dir RUN2  rerun a saved run (options override it)
    keras-transfer evaluate EXPORT_OR_MODEL DATA [--report FILE]  metrics table (and the HTML report)
    keras-transfer export MODEL.keras OUT --labels labels.txt [--tflite float32,int8]
    keras-transfer predict EXPORT_DIR INPUTS... [--top-k K] [--csv OUT]
    keras-transfer rank DATA --candidates NAME:WEIGHTS,...  which backbone to fine-tune (transferability)
    keras-transfer distill TEACHER DATA --output-dir RUN  a small student on the teacher's soft targets
    keras-transfer search DATA --directory DIR --budget 600  hyper-parameter search over the recipe (KerasTuner)
    keras-transfer demo [--seeds N] [--smoke]
    keras-transfer shard DATA OUT [--image-size 224]           TFRecord shards + manifest (local or gs://)

User mistakes (a missing file, a bad option value, data that does not fit the
model) print `error: <message>` to stderr and exit with status 2, without a
stack trace; `keras-transfer --traceback ...` shows the trace for bug reports.

Example:
    >>> from keras_transfer.cli.main import main
    >>> main(["predict", "runs/shapes/export", "photos/", "--top-k", "2", "--csv", "predictions.csv"])
    0
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from types import ModuleType  # noqa: E402

from keras_transfer.cli import (  # noqa: E402
    demo,
    distill,
    evaluate,
    export,
    few_shot,
    fit,
    predict,
    rank,
    search,
    shard,
)

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
# Exceptions that mean "the user asked for something that cannot be done": reported in one line.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)
# Each subcommand's module has HELP, DESCRIPTION, add_arguments(parser) and run(args) -> exit status.
SUBCOMMANDS: dict[str, ModuleType] = {"fit": fit, "evaluate": evaluate, "export": export, "predict": predict,
                                      "rank": rank, "few-shot": few_shot, "distill": distill, "search": search,
                                      "demo": demo, "shard": shard}

_EXAMPLES = """\
examples:
  keras-transfer fit photos/ --backbone efficientnetv2b0 --epochs 5 --output-dir runs/photos
  keras-transfer fit --config runs/photos/config.json --output-dir runs/photos-again
  keras-transfer evaluate runs/photos/export test_photos/ --report runs/photos/test_report.html
  keras-transfer export model.keras exports/photos --labels labels.txt --tflite float32,dynamic_int8
  keras-transfer predict runs/photos/export new_photos/ --top-k 3 --csv predictions.csv
  keras-transfer few-shot support/ exports/few --backbone mobilenet
  keras-transfer search photos/ --directory searches/photos --budget 600 --tuner hyperband
  keras-transfer demo --smoke
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `keras-transfer` command line.

    Args:
        argv: the arguments after the program name (default: `sys.argv[1:]`).

    Returns:
        The exit status: 0 on success, 2 for a usage or data error (the
        message goes to stderr as `error: ...`), 130 when interrupted.

    Example:
        >>> main(["fit", "photos/", "--output-dir", "runs/photos", "--epochs", "3"])
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version and argparse's own usage errors
        return int(stop.code or 0) if not isinstance(stop.code, str) else EXIT_USER_ERROR
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # `fit --workers` restarts itself with it
    try:
        return int(args.handler(args) or EXIT_OK)
    except USER_ERRORS as error:
        if args.traceback:
            raise
        print(f"error: {error_message(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def error_message(error: BaseException) -> str:
    """One line for the user: the exception's message, or `strerror: filename` for a bare OS error.

    Args:
        error: the exception.

    Returns:
        The message.

    Example:
        >>> error_message(FileNotFoundError(2, "No such file or directory", "x.csv"))
        'No such file or directory: x.csv'
    """
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return str(error) or type(error).__name__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `keras-transfer` and its subcommands.

    Returns:
        An `argparse.ArgumentParser`; each parsed namespace has a `handler`.

    Example:
        >>> build_parser().parse_args(["predict", "export/", "a.png"]).top_k
        1
    """
    from keras_transfer.version import __version__

    parser = argparse.ArgumentParser(
        prog="keras-transfer",
        description="Transfer learning with Keras 3: train, evaluate, export and serve image classifiers.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback of errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        subcommand = commands.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
        subcommand.set_defaults(handler=module.run)
        module.add_arguments(subcommand)
    return parser


if __name__ == "__main__":
    sys.exit(main())
