"""The one logger: progress lines that honour `verbose` and reach logs as well as terminals.

Lines are printed with `flush=True`, so a run whose output goes to a file or a
CI log shows its progress as it happens, not when the buffer fills.
"""

from __future__ import annotations

import sys


class Log:
    """Prints progress and warnings for one run.

    Args:
        verbose: 0 prints nothing but warnings' records (they are still
            collected by the caller); 1 prints progress lines and warnings;
            2 also prints detail lines.

    Example:
        >>> log = Log(verbose=1)
        >>> log.info("Stage 1/3 'head': ...")
    """

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose = int(verbose)
        self._stream = stream

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def info(self, message: str) -> None:
        """A progress line (shown when verbose >= 1)."""
        if self.verbose >= 1:
            print(message, file=self.stream, flush=True)

    def detail(self, message: str) -> None:
        """A detail line (shown when verbose >= 2)."""
        if self.verbose >= 2:
            print(message, file=self.stream, flush=True)

    def warning(self, message: str) -> None:
        """A warning line, `WARNING: ...` (shown when verbose >= 1)."""
        if self.verbose >= 1:
            print(f"WARNING: {message}", file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A note on stderr that the user should see whatever `verbose` is (e.g. an ignored option)."""
        print(message, file=sys.stderr, flush=True)
