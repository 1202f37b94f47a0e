"""A callback for tests that kill a training process: it prints each finished epoch and can pause after it.

A test reads `EPOCH n` from the process's output to know the epoch's checkpoint is written, and kills it
during the pause.
"""

from __future__ import annotations

import time

import keras


class EpochLog(keras.callbacks.Callback):
    """Prints `EPOCH <n>` (flushed) at every epoch end, counts them, and sleeps `pause` seconds after each.

    Args:
        pause: seconds to wait after each epoch (0: none).

    Example:
        >>> build_and_fit(data, callbacks=[EpochLog(pause=2.0)], output_dir="run")
    """

    def __init__(self, pause: float = 0.0):
        super().__init__()
        self.pause = pause
        self.count = 0

    def on_epoch_end(self, epoch, logs=None):
        self.count += 1
        print("EPOCH", epoch, flush=True)
        time.sleep(self.pause)
