"""The offline demo that `keras-transfer demo` and `make demo` run (Fashion-MNIST, few labels, honest baselines).

`keras_transfer.demo` was one module before 0.2; `main` and `run_demo` still import from here.
"""

from keras_transfer.demo.transfer_demo import DemoResult, DemoSettings, main, run_demo

__all__ = ["DemoResult", "DemoSettings", "main", "run_demo"]
