"""The cluster a process belongs to: TF_CONFIG read, its role (chief or worker), and free ports for a local one.

`tf.distribute.MultiWorkerMirroredStrategy` reads the cluster from the `TF_CONFIG` environment variable:
`{"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": 0}}`. The chief is
the `chief` task when the cluster has one, else worker 0 (as in Keras' multi-worker tutorial).

Example:
    >>> configs = local_cluster(2)              # two workers on 127.0.0.1, ports free right now
    >>> os.environ["TF_CONFIG"] = json.dumps(configs[0])
    >>> read_tf_config().is_chief
    True
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TF_CONFIG = "TF_CONFIG"


@dataclass(frozen=True)
class ClusterRole:
    """One process's place in a cluster.

    Attributes:
        task_type: "worker" or "chief" (None: not in a cluster).
        index: the task's index within its type.
        num_workers: tasks that train (chief and workers).
    """

    task_type: str | None = None
    index: int = 0
    num_workers: int = 1
    has_chief_task: bool = False

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run's files (checkpoints, config, export)."""
        if self.task_type is None or self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.index == 0 and not self.has_chief_task

    @property
    def name(self) -> str:
        """e.g. `worker-1` (`single` outside a cluster)."""
        return "single" if self.task_type is None else f"{self.task_type}-{self.index}"


def parse_tf_config(config: str | Mapping[str, Any] | None) -> ClusterRole:
    """The role a TF_CONFIG value describes (the text or its parsed dict; None or empty: a single process).

    Raises:
        ValueError: TF_CONFIG that is not JSON, lacks `cluster`/`task`, or names a task outside the cluster.

    Example:
        >>> parse_tf_config('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}')
        ClusterRole(task_type='worker', index=1, num_workers=2, has_chief_task=False)
    """
    if not config:
        return ClusterRole()
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as error:
            raise ValueError(f"TF_CONFIG is not JSON ({error}): set it to "
                             '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}.'
                             ) from None
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    if not cluster or "type" not in task:
        raise ValueError(f"TF_CONFIG needs 'cluster' and 'task' (with 'type' and 'index'); it has {sorted(config)}.")
    task_type, index = str(task["type"]), int(task.get("index", 0))
    if task_type not in cluster or not 0 <= index < len(cluster[task_type]):
        raise ValueError(f"TF_CONFIG's task {task_type}:{index} is not in its cluster {json.dumps(cluster)}.")
    trainers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return ClusterRole(task_type=task_type, index=index, num_workers=trainers, has_chief_task="chief" in cluster)


def read_tf_config(environ: Mapping[str, str] | None = None) -> ClusterRole:
    """This process's role, from the `TF_CONFIG` environment variable (a single process when it is unset)."""
    return parse_tf_config((os.environ if environ is None else environ).get(TF_CONFIG))


def strategy_role(strategy: Any) -> ClusterRole:
    """The role of this process in `strategy`'s cluster (a single process for a one-machine strategy)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return ClusterRole()
    spec = resolver.cluster_spec().as_dict()
    trainers = len(spec.get("worker", [])) + len(spec.get("chief", []))
    return ClusterRole(task_type=resolver.task_type, index=int(resolver.task_id or 0), num_workers=max(1, trainers),
                       has_chief_task="chief" in spec)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct TCP ports free on `host` now (the sockets are held open together, then closed)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            handle.bind((host, 0))
            sockets.append(handle)
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


def local_cluster(workers: int, host: str = "127.0.0.1") -> list[dict]:
    """One TF_CONFIG dict per worker of a cluster on this machine, on ports free now.

    Example:
        >>> [config["task"] for config in local_cluster(2)]
        [{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
    """
    if workers < 1:
        raise ValueError(f"A cluster needs at least one worker, got {workers}.")
    addresses = [f"{host}:{port}" for port in free_ports(workers, host)]
    return [{"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
            for index in range(workers)]
