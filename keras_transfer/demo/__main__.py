"""`python -m keras_transfer.demo`: runs the demo."""

import sys

from keras_transfer.demo.transfer_demo import main

sys.exit(main())
