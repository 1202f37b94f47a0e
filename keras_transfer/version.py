"""The package version, in its own module so that no submodule imports upward from `keras_transfer`."""

__version__ = "0.1.0"
