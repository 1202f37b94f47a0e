"""`keras-transfer distill TEACHER DATA --output-dir RUN`: a small student on a teacher's soft targets, exported.

Writes `config.json` (rerun with `keras-transfer fit --config`, giving the teacher again if it was not a path),
`distillation.json` (teacher against student: accuracy, parameters, CPU latency at batch 1 and 32, TFLite
size) and the export with its `report.html`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_transfer.cli.options import data_argument, declare_options, parse_image_size, parse_weights
from keras_transfer.cli.output import print_export_summary, status

HELP = "distil a trained classifier (an export folder or .keras file) into a small, fast student"
DESCRIPTION = ("Trains the student backbone with the usual stage plan on the teacher's temperature-softened logits "
               "plus the labels (and on images from --unlabeled-data the teacher labels), beside the same student "
               "trained on the labels alone: the better one on the validation split is kept, with a warning when "
               "distilling hurt. Prints teacher against student and exports the kept model.")
COMPARISON_FILE = "distillation.json"

OPTIONS = (
    (("teacher",), dict(metavar="TEACHER", help="the teacher: an export folder (keras_transfer export) or a .keras "
                                                "file")),
    (("data",), dict(metavar="DATA", help="labelled images: a folder with a sub-folder per class, a CSV or "
                                          "tfds:NAME")),
    (("--output-dir", "-o"), dict(required=True, metavar="RUN", help="where config.json, distillation.json and "
                                                                     "export/ go")),
    (("--student",), dict(default="mobilenetv3small", help="registry name of the student (default %(default)s)")),
    (("--weights",), dict(default="none", help="the student's weights: none (from scratch), imagenet or a file "
                                               "(default %(default)s)")),
    (("--temperature",), dict(type=float, default=4.0, help="softening temperature (default %(default)s)")),
    (("--student-loss-weight",), dict(type=float, default=0.5, help="weight of the label loss in [0, 1]; 1 is "
                                                                    "labels only (default %(default)s)")),
    (("--unlabeled-data",), dict(metavar="IMAGES", help="a folder of images without labels for the teacher to label")),
    (("--image-size",), dict(metavar="SIZE", help="input size (default: the student's)")),
    (("--epochs",), dict(type=int, metavar="N", help="the most epochs per stage")),
    (("--seed",), dict(type=int, default=0, help="seeds the split, the weights and the shuffling")),
    (("--no-export",), dict(action="store_true", help="skip the export and report")),
    (("--quiet", "-q"), dict(action="store_true", help="print only the summary")),
)

add_arguments = declare_options(OPTIONS)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer distill`: distils, writes the config and the comparison, exports with the report.

    Args:
        args: the parsed `distill` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["distill", "exports/teacher", "photos/", "-o", "runs/student"]))
        0
    """
    from keras_transfer.cli.fit import check_output_dir
    from keras_transfer.distillation import distill
    from keras_transfer.serialization import write_json

    output = Path(args.output_dir).expanduser().absolute()
    check_output_dir(output, overwrite=False, resume=False)
    options = {"image_size": parse_image_size(args.image_size)} if args.image_size else {}
    if args.epochs is not None:
        options["epochs"] = args.epochs
    teacher = str(Path(args.teacher).expanduser().absolute())
    unlabeled = data_argument(args.unlabeled_data) if args.unlabeled_data else None
    result = distill(teacher, data_argument(args.data), student=args.student, weights=parse_weights(args.weights),
                     temperature=args.temperature, student_loss_weight=args.student_loss_weight,
                     unlabeled_data=unlabeled, seed=args.seed, output_dir=str(output),
                     verbose=0 if args.quiet else 1, **options)
    result.save_config(output / "config.json")
    comparison = result.method_record.get("comparison", {})
    write_json(output / COMPARISON_FILE, comparison)
    print(comparison_table(comparison))
    for warning in result.warnings:
        status(f"warning: {warning}", args.quiet)
    if not args.no_export:
        print_export_summary(result.export(output / "export", overwrite=True))
    return 0


def comparison_table(comparison: dict) -> str:
    """Teacher and student side by side: accuracy, parameters, CPU milliseconds at batch 1 and 32, TFLite bytes."""
    keys = ("accuracy", "parameters", "latency_ms_batch_1", "latency_ms_batch_32", "tflite_bytes")
    lines = [f"{'':<8} " + " ".join(f"{key:>19}" for key in keys)]
    for role in ("teacher", "student"):
        row = comparison.get(role, {})
        cells = [f"{row[key]:>19.4g}" if isinstance(row.get(key), (int, float)) else f"{'-':>19}" for key in keys]
        lines.append(f"{role:<8} " + " ".join(cells))
    ratios = comparison.get("ratios", {})
    if ratios:
        lines.append("student / teacher: " + ", ".join(f"{name} {value:.2f}x" for name, value in ratios.items()))
    return "\n".join(lines)
