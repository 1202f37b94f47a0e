"""`python -m keras_transfer.demo`: runs the demo (the options of `add_demo_arguments`, as `keras-transfer demo`)."""

import sys

from keras_transfer.demo.transfer_demo import main

sys.exit(main())
