"""`keras-transfer`, the command line: one module per subcommand; each parses, calls the library and prints.

`main` (the console script `keras-transfer`, and `python -m keras_transfer.cli`) is in `keras_transfer.cli.main`;
`fit`, `evaluate`, `export`, `predict` and `demo` hold the subcommands, `options` the option-value parsers and
`output` the progress bars, status lines and summaries.
"""

from keras_transfer.cli.main import main

__all__ = ["main"]
