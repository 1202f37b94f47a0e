"""`keras-transfer`, the command line: one module per subcommand; each parses, calls the library and prints."""

from keras_transfer.cli.main import main

__all__ = ["main"]
