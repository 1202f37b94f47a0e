"""The offline demo that `keras-transfer demo` and `make demo` run (Fashion-MNIST, few labels, honest baselines).

`keras_transfer.demo` was one module before 0.2; `main` and `run_demo` still import from here.
`add_demo_arguments` and `demo_arguments` are the demo's options, shared by `keras-transfer demo` and
`python -m keras_transfer.demo`.
"""

from keras_transfer.demo.transfer_demo import (
    DemoResult,
    DemoSettings,
    add_demo_arguments,
    demo_arguments,
    main,
    run_demo,
)

__all__ = ["DemoResult", "DemoSettings", "add_demo_arguments", "demo_arguments", "main", "run_demo"]
