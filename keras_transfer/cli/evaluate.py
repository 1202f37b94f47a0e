"""`keras-transfer evaluate EXPORT_OR_MODEL DATA`: the metrics table, and with `--report FILE` the HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_transfer.cli.options import data_argument, parse_image_size, positive_int
from keras_transfer.cli.output import batch_progress, print_evaluation
from keras_transfer.serialization import write_json

EVALUATION_BATCH_SIZE = 32
HELP = "score an export folder or a .keras model on labelled data"
DESCRIPTION = ("Prints accuracy, top-k accuracy, per-class precision/recall/F1, log-loss and calibration error of a "
               "model (an export folder written by `fit`/`export`, or a .keras file) on DATA.")


def add_arguments(evaluate: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declares the model and the data to score it on, where to write the report and JSON, and how to read the data.

    `--labels` names the classes of a bare .keras file; `--image-size` sizes a model that takes any size.

    Args:
        evaluate: the `evaluate` subcommand's parser.

    Returns:
        The parser.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["export/", "test/"]).batch_size
        32
    """
    evaluate.add_argument("model", metavar="EXPORT_OR_KERAS_MODEL", help="an export folder or a .keras file")
    evaluate.add_argument("data", metavar="DATA", help="a folder with a sub-folder per class, a CSV or tfds:NAME:SPLIT")
    evaluate.add_argument("--report", metavar="FILE", help="also write the HTML report to FILE")
    evaluate.add_argument("--source-data", metavar="DIR",
                          help="images of the domain the model was trained on: DATA is then the target domain, and "
                               "the output and report gain the A-distance and PCA plot of source vs target features")
    evaluate.add_argument("--json", metavar="FILE", help="also write every metric as JSON to FILE")
    evaluate.add_argument("--labels", metavar="FILE",
                          help="class names, one per line, for a .keras file (default: the data's class names)")
    evaluate.add_argument("--image-size", metavar="SIZE", help="input size for a .keras model without a fixed one")
    evaluate.add_argument("--batch-size", type=int, default=EVALUATION_BATCH_SIZE, metavar="N",
                          help="images per model call (default: %(default)s)")
    evaluate.add_argument("--path-column", help="CSV column of the image paths (default: found by name)")
    evaluate.add_argument("--label-column", help="CSV column of the labels (default: found by name)")
    evaluate.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return evaluate


def run(args: argparse.Namespace) -> int:
    """`keras-transfer evaluate`: prints the metrics table; writes the report / JSON when asked.

    DATA is read in the model's class order: the export's, `--labels`', or else the data's own.

    Args:
        args: the parsed `evaluate` namespace.

    Returns:
        0; a model or data that cannot be used raises, and `main` reports it.

    Example:
        >>> run(build_parser().parse_args(["evaluate", "runs/photos/export", "test/"]))
        0
    """
    from keras_transfer.data.sources import load_data
    from keras_transfer.evaluation.evaluate import evaluate
    from keras_transfer.evaluation.report import write_report
    from keras_transfer.serving.loading import evaluation_dataset, load_classifier, model_image_size

    classifier = load_classifier(args.model, labels=args.labels)
    image_size = parse_image_size(args.image_size) if args.image_size else model_image_size(classifier.model)
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    spec, _ = load_data(data_argument(args.data), validation_split=0, class_names=classifier.class_names,
                        path_column=args.path_column, label_column=args.label_column)
    if classifier.class_names is None:
        classifier.class_names = list(spec.class_names)
    dataset = evaluation_dataset(spec, image_size, positive_int("--batch-size")(args.batch_size),
                                 progress=batch_progress("Evaluating", args.quiet))
    evaluation = evaluate(classifier, dataset, source_data=args.source_data)
    print_evaluation(evaluation)
    if args.json:
        print(f"  metrics: {write_json(Path(args.json), evaluation.to_dict())}")
    if args.report:
        path = write_report(args.report, evaluation=evaluation, config=classifier.config or None,
                            title=f"Evaluation of {Path(args.model).name} on {Path(args.data).name}")
        print(f"  report: {path}")
    return 0
