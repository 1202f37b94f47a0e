"""`keras-transfer export MODEL.keras OUT --labels labels.txt`: a servable folder (SavedModel, TFLite, ONNX).

The work is `keras_transfer.serving.export.export`'s; this module reads the model, labels and data it needs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_transfer.cli.options import data_argument, parse_list
from keras_transfer.cli.output import print_export_summary
from keras_transfer.serialization import read_settings

HELP = "export a .keras model to a servable folder (SavedModel, TFLite, ONNX)"
DESCRIPTION = ("Writes OUT: a SavedModel whose signatures take encoded images or pixels, the .keras model, labels.txt, "
               "keras_transfer.json and, when asked, TFLite files and ONNX. OUT is written atomically.")


def add_arguments(export: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declares MODEL.keras, OUT and --labels, then what to write beside the SavedModel (TFLite variants, ONNX).

    `--representative-data` and `--validation-data` calibrate and score the TFLite files.

    Args:
        export: the `export` subcommand's parser.

    Returns:
        The same parser, for chaining.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["m.keras", "out", "--labels", "l.txt"]).top_k
        5
    """
    export.add_argument("model", metavar="MODEL.keras", help="a trained classifier (pixels 0-255 in)")
    export.add_argument("out", metavar="OUT", help="the export folder to create")
    export.add_argument("--labels", required=True, metavar="labels.txt",
                        help="class names, one per line, in output order")
    export.add_argument("--tflite", metavar="LIST",
                        help="comma list of TFLite variants: float32, float16, dynamic_int8, int8 (or all)")
    export.add_argument("--representative-data", metavar="DATA",
                        help="training images (folder, CSV, tfds:) to calibrate int8 TFLite")
    export.add_argument("--validation-data", metavar="DATA",
                        help="labelled images to score the TFLite/ONNX files on against the Keras model")
    export.add_argument("--multi-label", action=argparse.BooleanOptionalAction, default=None,
                        help="the model has independent sigmoid outputs (default: read from the model)")
    export.add_argument("--top-k", type=int, default=5, metavar="K",
                        help="classes in the signatures' top-k outputs (default: %(default)s)")
    export.add_argument("--config", metavar="FILE", help="a training config.json to store in keras_transfer.json")
    export.add_argument("--onnx", action="store_true", help="also write model.onnx (needs keras-transfer[onnx])")
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export at OUT")
    return export


def run(args: argparse.Namespace) -> int:
    """`keras-transfer export`: writes the export folder and lists what it holds.

    An OUT that exists (and is not an empty folder) is replaced only with `--overwrite`.

    Args:
        args: the parsed `export` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["export", "model.keras", "out", "--labels", "labels.txt"]))
        0
    """
    from keras_transfer.serving.export import export
    from keras_transfer.serving.loading import labelled_batches, load_classifier, model_image_size

    source = Path(args.model).expanduser()
    if source.is_dir() or source.suffix.lower() != ".keras":
        raise ValueError(f"{source} is not a .keras model file: export takes the file model.save() wrote.")
    target = Path(args.out).expanduser()
    if target.exists() and not args.overwrite and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists: pass --overwrite to replace an earlier export there, "
                              "or choose another OUT.")
    classifier = load_classifier(source, labels=args.labels)
    size = model_image_size(classifier.model)
    multi_label = args.multi_label if args.multi_label is not None else bool(classifier.multi_label)
    variants: Any = parse_list(args.tflite) if args.tflite else ()
    if "all" in variants:
        variants = True
    data = {name: labelled_batches(data_argument(value) if value else None, size, classifier.class_names, multi_label)
            for name, value in (("representative_data", args.representative_data),
                                ("validation_data", args.validation_data))}
    print(f"Exporting {source.name} ({len(classifier.class_names)} classes, {size[0]}x{size[1]}) to {args.out} ...")
    result = export(classifier.model, args.out, class_names=classifier.class_names, multi_label=multi_label,
                    top_k=args.top_k, config=read_settings(args.config, "config") if args.config else None,
                    overwrite=args.overwrite, tflite=variants, onnx=args.onnx, **data)
    print_export_summary(result)
    return 0
