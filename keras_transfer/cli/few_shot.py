"""`keras-transfer few-shot SUPPORT EXPORT`: a prototype classifier from a few images a class, exported.

With `--add-to OLD_EXPORT`, the classes of SUPPORT are added to (or update) an exported prototype classifier
instead, without touching its other classes, and the result is exported to EXPORT.
"""

from __future__ import annotations

import argparse

from keras_transfer.cli.options import data_argument, declare_options, parse_image_size, parse_weights
from keras_transfer.cli.output import print_export_summary, status

HELP = "build a prototype classifier from a few images per class (no training), or add classes to one"
DESCRIPTION = ("Embeds each support image with a pretrained backbone and stores the mean normalised embedding of "
               "each class as the head's weights; images are classified by their cosine (or euclidean) distance "
               "to each class. The export serves like any keras-transfer export. --add-to adds the support "
               "classes to an existing few-shot export.")

OPTIONS = (
    (("support",), dict(metavar="SUPPORT", help="labelled support images: a folder with a sub-folder per class, "
                                                "or a CSV")),
    (("export_dir",), dict(metavar="EXPORT", help="the export folder to write")),
    (("--backbone",), dict(default="efficientnetv2b0", help="registry name of the backbone, or NAME:BLOCK to end it at "
                                                             "a block (mobilenet:block9; default %(default)s)")),
    (("--weights",), dict(default="imagenet", help="imagenet or a weights file (default %(default)s)")),
    (("--distance",), dict(choices=("cosine", "euclidean"), default="cosine", help="default %(default)s")),
    (("--pooling",), dict(choices=("average", "grid"), default="average",
                          help="average (photos) or grid (centred, upright images: digits, documents, products); "
                               "default %(default)s")),
    (("--image-size",), dict(metavar="SIZE", help="input size (default: the backbone's)")),
    (("--add-to",), dict(metavar="OLD_EXPORT", help="add the support classes to this few-shot export instead")),
    (("--replace",), dict(action="store_true", help="with --add-to: a known class forgets its old images")),
    (("--overwrite",), dict(action="store_true", help="replace an existing export at EXPORT")),
    (("--quiet", "-q"), dict(action="store_true", help="print only the summary")),
)

add_arguments = declare_options(OPTIONS)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer few-shot`: builds (or extends) the prototype classifier and exports it.

    Args:
        args: the parsed `few-shot` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["few-shot", "support/", "exports/few", "--backbone", "mobilenet"]))
        0
    """
    from keras_transfer.fewshot import add_classes, few_shot

    support = data_argument(args.support)
    if args.add_to:
        from keras_transfer.serving.export import export
        from keras_transfer.serving.loading import load_classifier

        loaded = add_classes(load_classifier(args.add_to), support, replace=args.replace)
        exported = export(loaded.model, args.export_dir, class_names=loaded.class_names,
                          config={**loaded.config, "class_names": loaded.class_names}, overwrite=args.overwrite)
        status(f"Added to {args.add_to}: {len(loaded.class_names)} classes now ({', '.join(loaded.class_names)}).",
               args.quiet)
    else:
        image_size = parse_image_size(args.image_size) if args.image_size else None
        result = few_shot(support, backbone=args.backbone, weights=parse_weights(args.weights),
                          distance=args.distance, pooling=args.pooling, image_size=image_size,
                          verbose=0 if args.quiet else 1)
        exported = result.export(args.export_dir, overwrite=args.overwrite)
        status(f"Prototypes of {len(result.class_names)} classes ({', '.join(result.class_names)}), "
               f"{args.distance} distance, {args.pooling} pooling.", args.quiet)
    print_export_summary(exported)
    return 0
