"""`keras-transfer shard DATA OUT`: write a data set as TFRecord shards with a manifest (local, gs://, ...).

`keras-transfer fit OUT ...` (or `build_and_fit(OUT)`) then trains from the shards.
"""

from __future__ import annotations

import argparse

from keras_transfer.cli.options import data_argument, parse_image_size
from keras_transfer.serialization import is_remote

HELP = "write a data set as TFRecord shards (decoded and resized, or the file bytes) with a manifest"
DESCRIPTION = ("Scans DATA (a folder, CSV or tfds:NAME), then writes OUT/shard-*.tfrecord, one .labels.npy per "
               "shard and OUT/manifest.json (class names and counts), written last. OUT is any tf.io.gfile path "
               "(a folder, gs://bucket/path). Train from it with `keras-transfer fit OUT`.")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declares DATA, OUT and how the shards are written.

    Args:
        parser: the `shard` subcommand's parser.

    Returns:
        The same parser.

    Example:
        >>> add_arguments(argparse.ArgumentParser()).parse_args(["photos", "gs://b/p"]).encoding
        'pixels'
    """
    parser.add_argument("data", metavar="DATA", help="a folder with a sub-folder per class, a CSV or tfds:NAME")
    parser.add_argument("out", metavar="OUT", help="the shard folder to create (local or gs://...)")
    parser.add_argument("--image-size", default="224", metavar="SIZE",
                        help="the size pixel shards are stored at: N or HxW (default: %(default)s)")
    parser.add_argument("--encoding", choices=("pixels", "encoded"), default="pixels",
                        help="pixels: decoded and resized uint8; encoded: the original file bytes")
    parser.add_argument("--shards", type=int, metavar="N", help="number of files (default: 2048 images each)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the order the images are dealt out in")
    parser.add_argument("--overwrite", action="store_true", help="replace shards already in OUT")
    return parser


def run(args: argparse.Namespace) -> int:
    """`keras-transfer shard`: writes the shards and prints what the manifest says.

    Returns:
        0 once the manifest is written.

    Example:
        >>> run(build_parser().parse_args(["shard", "photos/", "ram://p", "--image-size", "64"]))
        0
    """
    from keras_transfer.data.shards import write_shards

    data = args.data if is_remote(args.data) else data_argument(args.data)
    manifest = write_shards(data, args.out, image_size=parse_image_size(args.image_size), encoding=args.encoding,
                            shards=args.shards, seed=args.seed, overwrite=args.overwrite)
    print(f"Wrote {manifest.count} images of {len(manifest.class_names)} classes in {len(manifest.files)} "
          f"shards to {args.out} ({manifest.encoding}); counts: {manifest.class_counts}")
    return 0
