"""`python -m keras_transfer.models.pretrained install mobilenet [--keras-home DIR]`.

Installs the offline ImageNet weights into Keras' cache (see `install_keras_imagenet_weights`)
and prints the files' paths; `weights="imagenet"` then loads them without a download.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from keras_transfer.models.pretrained.keras_cache import KERAS_IMAGENET_SIZES, install_keras_imagenet_weights


def main(argv: Sequence[str] | None = None) -> int:
    """Parses the command line and installs.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).

    Returns:
        The exit status, 0.

    Example:
        >>> main(["install", "mobilenet", "--keras-home", "/data/keras"])
    """
    parser = argparse.ArgumentParser(
        prog="python -m keras_transfer.models.pretrained",
        description="Install real ImageNet weights where weights='imagenet' finds them, offline.",
    )
    parser.add_argument("action", choices=["install"])
    parser.add_argument("backbone", nargs="?", default="mobilenet", help="only 'mobilenet' (V1) for now")
    parser.add_argument("--keras-home", default=None, help="default: $KERAS_HOME, else ~/.keras")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224], choices=KERAS_IMAGENET_SIZES)
    parser.add_argument("--overwrite", action="store_true", help="replace files already there")
    args = parser.parse_args(argv)
    for path in install_keras_imagenet_weights(args.backbone, args.keras_home, args.sizes, args.overwrite):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
