"""`python -m keras_transfer.cli`: the `keras-transfer` command line."""

import sys

from keras_transfer.cli.main import main

sys.exit(main())
