"""Files are written by the chief only: every other worker writes the same files to a temporary folder.

As in Keras' multi-worker tutorial, every worker runs the same saving code (a save may need every worker's
part), but only the chief's copy lands in `output_dir`; the others go to a local temporary folder, which
nobody reads. Reads (the resume state) come from `output_dir`, which must be storage every worker sees (a
bucket, or a shared disk).

Example:
    >>> folder = write_dir("gs://bucket/run", strategy)   # the chief: gs://bucket/run; others: /tmp/...
"""

from __future__ import annotations

import tempfile
from typing import Any

from keras_transfer.distributed.cluster import ClusterRole, read_tf_config, strategy_role
from keras_transfer.distributed.strategy import is_multi_worker

_worker_dirs: dict[tuple[str, str], str] = {}


def role(strategy: Any) -> ClusterRole:
    """This process's role under `strategy` (a single process without a multi-worker strategy)."""
    return strategy_role(strategy) if is_multi_worker(strategy) else ClusterRole()


def is_chief(strategy: Any = None) -> bool:
    """Whether this process writes the run's files (always, outside a multi-worker run).

    Without a strategy, TF_CONFIG decides (so the command line can tell before any strategy exists).
    """
    if strategy is None:
        return read_tf_config().is_chief
    return role(strategy).is_chief


def write_dir(output_dir: str | None, strategy: Any) -> str | None:
    """Where this process writes: `output_dir` for the chief, a temporary folder (one per run) for the others."""
    if output_dir is None:
        return None
    me = role(strategy)
    if me.is_chief:
        return output_dir
    key = (str(output_dir), me.name)
    if key not in _worker_dirs:
        _worker_dirs[key] = tempfile.mkdtemp(prefix=f"keras_transfer_{me.name}_")
    return _worker_dirs[key]
