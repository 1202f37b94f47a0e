"""Shared helpers of the benchmark scripts: smoke mode, quiet TensorFlow, timing, JPEG sets, result lines.

Every script prints its figures as plain lines and its comparisons as
`RATIO <name> = <value> (goal ...: met|missed)` lines, which `run_all.py` and
the smoke test read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SMOKE_ENV = "KERAS_TRANSFER_BENCH_SMOKE"


def quiet_tensorflow() -> None:
    """Hides TensorFlow's start-up chatter and forces the TensorFlow backend (call before importing keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def smoke_requested(argv_flag: bool = False) -> bool:
    """Smoke mode: `--smoke` on the command line or `KERAS_TRANSFER_BENCH_SMOKE=1` in the environment."""
    return argv_flag or os.environ.get(SMOKE_ENV, "") not in ("", "0", "false", "False")


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the `--smoke` flag every script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true",
                        help=f"seconds-long run that only checks the script works (or {SMOKE_ENV}=1)")
    return parser


def median_seconds(run: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Runs `run` `repeats` times; returns the median wall seconds and every run's seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def ratio_line(name: str, value: float, goal: str | None = None, met: bool | None = None) -> str:
    """`RATIO name = value (goal: met|missed)`, the line the smoke test and `run_all.py` look for."""
    text = f"RATIO {name} = {value:.2f}"
    if goal is not None:
        text += f" (goal {goal}: {'met' if met else 'MISSED'})"
    return text


def print_ratio(name: str, value: float, goal: str | None = None, met: bool | None = None) -> None:
    """Prints a `ratio_line` and flushes (the runner reads the output as it comes)."""
    print(ratio_line(name, value, goal, met), flush=True)


def _photo_like(rng, width: int, height: int, noise):
    """One photo-like RGB image: a smooth colour field, a few blobs and sensor-like noise."""
    import numpy as np
    from PIL import Image, ImageDraw

    field = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
    image = Image.fromarray(field).resize((width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(20, 120))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    top, left = int(rng.integers(0, noise.shape[0] - height)), int(rng.integers(0, noise.shape[1] - width))
    pixels = np.asarray(image).astype(np.int16) + noise[top:top + height, left:left + width]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg_folder(count: int, width: int, height: int, classes: int = 2, quality: int = 90, seed: int = 0,
                root: str | os.PathLike | None = None) -> Path:
    """A folder of `count` photo-like JPEGs in `classes` class sub-folders, written once and reused.

    Args:
        count: number of images.
        width, height: their size in pixels.
        classes: class sub-folders (images are dealt round-robin).
        quality: JPEG quality.
        seed: random seed.
        root: parent folder (default: the system's temporary folder).

    Returns:
        The folder (`<root>/keras_transfer_bench_jpegs_<count>_<w>x<h>_<seed>/class_<k>/<i>.jpg`).
    """
    import numpy as np

    folder = Path(root or tempfile.gettempdir()) / f"keras_transfer_bench_jpegs_{count}_{width}x{height}_{seed}"
    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 8, size=(height + 64, width + 64, 3)).astype(np.int16)
    for index in range(count):
        sub = folder / f"class_{index % classes}"
        sub.mkdir(parents=True, exist_ok=True)
        partial = sub / f".{index:05d}.{os.getpid()}.tmp"
        _photo_like(rng, width, height, noise).save(partial, format="JPEG", quality=quality)
        os.replace(partial, sub / f"{index:05d}.jpg")  # atomic: a concurrent run never reads half a file
    done.write_text("ok\n")
    return folder


def machine_line() -> str:
    """One line describing the machine the figures were taken on."""
    import platform

    cores = os.cpu_count()
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    return f"machine: {platform.machine()} {cores} cores{load}, python {platform.python_version()}"
