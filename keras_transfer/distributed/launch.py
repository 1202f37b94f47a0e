"""A cluster manager for one machine: start N workers with TF_CONFIG, watch them, restart the job after a failure.

What Kubernetes, Vertex AI or a TPU pod's runtime does for a real cluster, in small: every worker gets its
own TF_CONFIG (ports free at start time); when one dies, the others are stuck in (or soon fail in) a
collective with it, so after a grace period all are stopped and the whole job is started again, with
`resume` (the plan's own resume state in the shared `output_dir` tells every worker where to continue).
`keras-transfer fit --workers N` runs this.

Example:
    >>> outcome = supervise(lambda index, attempt: ["keras-transfer", "fit", "photos/", "-o", "run",
    ...                                             *(["--resume"] if attempt else [])], workers=2, log_dir="logs")
    >>> outcome.attempts, outcome.returncodes
    (1, [0, 0])
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keras_transfer.distributed.cluster import TF_CONFIG, local_cluster

Command = Callable[[int, int], Sequence[str]]  # (worker index, attempt) -> argv


@dataclass
class WorkerGroup:
    """The worker processes of one attempt, each logging to its own file."""

    processes: list[subprocess.Popen]
    logs: list[Path]
    attempt: int = 0

    def returncodes(self) -> list[int | None]:
        """Each worker's exit status (None while it runs)."""
        return [process.poll() for process in self.processes]

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM to the workers still running, SIGKILL to those still running `grace_s` later."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_workers(command: Command, workers: int, log_dir: str | os.PathLike, *, attempt: int = 0,
                  environ: Mapping[str, str] | None = None, host: str = "127.0.0.1") -> WorkerGroup:
    """Starts `workers` processes of a local cluster, each with its TF_CONFIG and a log file.

    Args:
        command: `(worker index, attempt) -> argv`.
        workers: how many.
        log_dir: where `worker-{i}-attempt-{a}.log` go (stdout and stderr).
        attempt: 0 for the first start, then 1, 2, ... (new ports each time).
        environ: the environment to start from (default: this process's).
        host: the address the workers listen on.

    Returns:
        The `WorkerGroup`.
    """
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    processes, logs = [], []
    for index, config in enumerate(local_cluster(workers, host)):
        env = {**(os.environ if environ is None else environ), TF_CONFIG: json.dumps(config)}
        log = folder / f"worker-{index}-attempt-{attempt}.log"
        with open(log, "w") as handle:
            processes.append(subprocess.Popen(list(command(index, attempt)), stdout=handle,
                                              stderr=subprocess.STDOUT, env=env))
        logs.append(log)
    return WorkerGroup(processes, logs, attempt)


@dataclass
class Supervision:
    """How a supervised job went: attempts made, the last attempt's exit statuses, every attempt's logs."""

    attempts: int
    returncodes: list[int | None]
    logs: list[list[Path]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Whether every worker of the last attempt exited with 0."""
        return all(code == 0 for code in self.returncodes)


def supervise(command: Command, workers: int, log_dir: str | os.PathLike, *, restarts: int = 2,
              timeout_s: float | None = None, grace_s: float = 10.0, poll_s: float = 0.2,
              on_start: Callable[[WorkerGroup], None] | None = None,
              environ: Mapping[str, str] | None = None) -> Supervision:
    """Runs a job of `workers` local processes to the end, restarting all of them after a failure.

    A worker that exits with a non-zero status (or is killed) fails the attempt: the others get `grace_s`
    to fail on their own (a collective with a lost peer errors after the run's `collective_timeout`), then
    are stopped, and every worker starts again with the next attempt number (`command` adds `--resume`).

    Args:
        command: `(worker index, attempt) -> argv`.
        workers: how many worker processes.
        log_dir: the workers' log files.
        restarts: how many times the job may be started again.
        timeout_s: the most seconds one attempt may run before it is stopped and counted as failed.
        grace_s: seconds the other workers get after the first failure.
        poll_s: how often the processes are looked at.
        on_start: called with each attempt's `WorkerGroup` once it started (e.g. to inject a failure).
        environ: the workers' base environment.

    Returns:
        A `Supervision`.
    """
    logs, failures = [], []
    for attempt in range(restarts + 1):
        group = start_workers(command, workers, log_dir, attempt=attempt, environ=environ)
        logs.append(group.logs)
        if on_start is not None:
            on_start(group)
        started, failed_at = time.monotonic(), None
        while True:
            codes = group.returncodes()
            if all(code == 0 for code in codes):
                return Supervision(attempt + 1, codes, logs, failures)
            if failed_at is None and any(code not in (None, 0) for code in codes):
                failed_at = time.monotonic()
                failures.append(f"attempt {attempt}: worker exit statuses {codes}")
            over_time = timeout_s is not None and time.monotonic() - started > timeout_s
            if over_time and failed_at is None:
                failures.append(f"attempt {attempt}: still running after {timeout_s:.0f} s")
            if over_time or (failed_at is not None and (time.monotonic() - failed_at > grace_s
                                                        or all(code is not None for code in codes))):
                group.stop()
                break
            time.sleep(poll_s)
    return Supervision(restarts + 1, group.returncodes(), logs, failures)
