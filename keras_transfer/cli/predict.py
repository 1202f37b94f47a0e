"""`keras-transfer predict EXPORT_DIR INPUTS...`: classify image files and folders; print a line each, or `--csv`."""

from __future__ import annotations

import argparse
import sys

from keras_transfer.cli.options import positive_int
from keras_transfer.cli.output import format_prediction, progress_bar, write_predictions_csv

HELP = "classify image files and folders with an export folder"
DESCRIPTION = ("Classifies each image file given, and every image in each folder given (recursively), with the "
               "export's SavedModel. Prints one line per image, or writes a CSV with --csv.")


def add_arguments(predict: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declares EXPORT_DIR, the INPUTS, --top-k, --csv, --batch-size and --quiet.

    Args:
        predict: the `predict` subcommand's parser.

    Returns:
        It, with these options.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["export/", "a.png", "b/"]).inputs
        ['a.png', 'b/']
    """
    predict.add_argument("export", metavar="EXPORT_DIR", help="an export folder written by `fit` or `export`")
    predict.add_argument("inputs", nargs="+", metavar="INPUTS", help="image files and/or folders of images")
    predict.add_argument("--top-k", type=int, default=1, metavar="K",
                         help="classes listed per image (default: %(default)s)")
    predict.add_argument("--csv", metavar="OUT", help="write the predictions to this CSV file instead of printing them")
    predict.add_argument("--batch-size", type=int, default=64, metavar="N",
                         help="images per model call (default: %(default)s)")
    predict.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return predict


def run(args: argparse.Namespace) -> int:
    """`keras-transfer predict`: classifies files and folders; prints or writes CSV.

    Files that cannot be decoded are skipped with a note on stderr; it is an
    error only when none can be.

    Args:
        args: the parsed `predict` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["predict", "runs/photos/export", "new/", "--csv", "out.csv"]))
        0
    """
    from keras_transfer.serving.inference import load
    from keras_transfer.serving.loading import collect_images, predict_files

    predictor = load(args.export)
    top_k = args.top_k
    if not 1 <= top_k <= len(predictor.class_names):
        raise ValueError(f"--top-k must be from 1 to {len(predictor.class_names)} (the number of classes), "
                         f"got {top_k}.")
    files = collect_images(args.inputs)
    batch_size = positive_int("--batch-size")(args.batch_size)
    with progress_bar(len(files), "Predicting", unit="image", quiet=args.quiet or len(files) <= batch_size) as bar:
        results, skipped = predict_files(predictor, files, top_k, batch_size, on_batch=bar.update)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if not results:
        raise ValueError(f"None of the {len(files)} input images could be classified.")
    if args.csv:
        path = write_predictions_csv(args.csv, results, top_k, predictor.multi_label)
        print(f"{len(results)} predictions written to {path}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    else:
        for row in results:
            print(format_prediction(row))
    return 0
