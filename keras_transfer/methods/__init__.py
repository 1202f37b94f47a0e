"""Transfer methods: the interface every method plugs into, and the built-in ones.

`fine_tune` (the staged recipe), `linear_probe` and `scratch` are the first
users of `TransferMethod`; the baselines of a run are methods too.
"""

from keras_transfer.methods.base import (
    MethodResult,
    TransferMethod,
    check_combination,
    list_methods,
    register_method,
    resolve_method,
)
from keras_transfer.methods.fine_tune import FineTune
from keras_transfer.methods.linear_probe import LinearProbe, linear_probe, probe_weights
from keras_transfer.methods.scratch import Scratch

__all__ = [
    "FineTune", "LinearProbe", "MethodResult", "Scratch", "TransferMethod", "check_combination", "linear_probe",
    "list_methods", "probe_weights", "register_method", "resolve_method",
]
