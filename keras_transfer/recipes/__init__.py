"""Recipes: `FitConfig`, the `build_and_fit` recipe as named steps, the `RunContext` methods read, `FitResult`."""

from keras_transfer.recipes.build_and_fit import build_and_fit, build_and_fit_from_config, fit_config
from keras_transfer.recipes.config import FitConfig
from keras_transfer.recipes.context import RunContext
from keras_transfer.recipes.result import FitResult
from keras_transfer.train.precision import dtype_policy, resolve_precision

__all__ = ["FitConfig", "FitResult", "RunContext", "build_and_fit", "build_and_fit_from_config", "dtype_policy",
           "fit_config", "resolve_precision"]
