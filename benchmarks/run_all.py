"""Runs every benchmark script (`make bench`), then prints their ratio lines together.

Usage:
    python benchmarks/run_all.py                 # full runs: the better part of an hour on 2 CPU cores
    python benchmarks/run_all.py --smoke         # seconds each: checks every script works
    python benchmarks/run_all.py --only input_pipeline serving_latency

The exit status is 1 when a script fails; a missed goal is reported, not an error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("input_pipeline", "feature_cache", "end_to_end", "precision", "serving_latency", "gpu_training",
           "from_scratch", "ranking", "peft", "domain_adaptation", "few_shot", "distillation", "text", "search",
           "distributed")
# TensorFlow's start-up chatter on stderr; everything else is passed through.
NOISE = ("WARNING: All log messages before absl", "I0000 ", "E0000 ", "W0000 ", "oneDNN custom operations",
         "cuda drivers", "cpu_feature_guard", "rebuild TensorFlow", "To enable the following instructions")


def run_script(name: str, smoke: bool) -> tuple[int, list[str], float]:
    """Runs one script, streaming its output; returns (exit status, its RATIO/SKIP lines, seconds)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    command = [sys.executable, str(HERE / f"{name}.py")] + (["--smoke"] if smoke else [])
    print(f"=== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    kept = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          cwd=HERE.parent) as process:
        for line in process.stdout:
            if any(fragment in line for fragment in NOISE):
                continue
            print(line, end="", flush=True)
            if line.startswith(("RATIO ", "SKIP ")):
                kept.append(line.rstrip())
    return process.returncode, kept, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long runs that only check the scripts")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    args = parser.parse_args(argv)
    summary, failed = [], []
    total = time.perf_counter()
    for name in args.only or SCRIPTS:
        code, lines, seconds = run_script(name, args.smoke)
        summary.append(f"--- {name} ({seconds:.0f} s){'' if code == 0 else f' FAILED with exit status {code}'}")
        summary += [f"    {line}" for line in lines]
        if code != 0:
            failed.append(name)
    note = ", smoke mode: the figures mean nothing" if args.smoke else ""
    print(f"=== summary ({time.perf_counter() - total:.0f} s{note})")
    print("\n".join(summary))
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
