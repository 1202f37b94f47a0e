"""`keras-transfer rank DATA --candidates NAME:WEIGHTS,...`: which backbone to fine-tune, from frozen features."""

from __future__ import annotations

import argparse

from keras_transfer.cli.fit_options import KINDS
from keras_transfer.cli.options import data_argument, declare_options, parse_image_size, parse_list
from keras_transfer.serialization import write_json

HELP = "rank candidate backbones on labelled data by transferability, before fine-tuning any"
DESCRIPTION = ("Extracts each candidate's frozen features once (at its own input size, or --image-size) and scores "
               "them by LogME, NLEEP, H-score, LEEP (candidates with an ImageNet head), kNN and a cross-validated "
               "linear probe. Prints the table, best first; --json writes it.")


# The rank subcommand's options, as (flags, argparse keywords).
OPTIONS = (
    (("data",), dict(metavar="DATA", help="a folder with a sub-folder per class, a CSV or tfds:NAME")),
    (("--candidates",), dict(required=True, metavar="NAME:WEIGHTS,...",
                             help="backbones to rank: registry name and weights (imagenet, none or a file), "
                                  "comma-separated, e.g. mobilenet:imagenet,mobilenet:none,vgg16:vgg16.weights.h5; "
                                  "or a JSON list")),
    (("--scores",), dict(default="logme,nleep,hscore,leep,knn,linear_probe", metavar="LIST",
                         help="estimators to compute (default: %(default)s)")),
    (("--trust",), dict(default="logme", metavar="SCORE", help="the score that orders the table")),
    (("--image-size",), dict(metavar="SIZE", help="one input size for all (default: each backbone's own)")),
    (("--split",), dict(choices=("train", "train+validation"), default="train",
                        help="score the training split only (as fine-tuning sees it) or all labelled images")),
    (("--batch-size",), dict(type=int, default=32, metavar="N", help="images per forward pass")),
    (("--seed",), dict(type=int, default=0, help="seeds the split and the estimators")),
    (("--json",), dict(metavar="OUT", help="write the table as JSON")),
    (("--quiet", "-q"), dict(action="store_true", help="print only the table")),
)


add_arguments = declare_options(OPTIONS)


def run(args: argparse.Namespace) -> int:
    """`keras-transfer rank`: ranks the candidates and prints the table (and writes --json).

    Args:
        args: the parsed `rank` namespace.

    Returns:
        0.

    Example:
        >>> run(build_parser().parse_args(["rank", "photos/", "--candidates", "mobilenet:imagenet,mobilenet:none"]))
        0
    """
    from keras_transfer.ranking.rank import rank_backbones

    table = rank_backbones(
        data_argument(args.data), KINDS["candidates"].parse(args.candidates, "--candidates"),
        scores=parse_list(args.scores), trusted=args.trust, split=args.split, batch_size=args.batch_size,
        image_size=parse_image_size(args.image_size) if args.image_size else None, seed=args.seed,
        verbose=0 if args.quiet else 1)
    print(table)
    print(f"best by {table.trusted}: {table.best()}")
    if args.json:
        write_json(args.json, table.to_dict())
    return 0
