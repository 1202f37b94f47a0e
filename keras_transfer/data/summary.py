"""`summarize`: the counts and remarks on the data that the report and the CLI show.

Example:
    >>> from keras_transfer.data.summary import summarize
    >>> summarize(train, validation)["train_counts"]
    {'cat': 32, 'dog': 30}
"""

from __future__ import annotations

from keras_transfer.data.spec import DataSpec


def summarize(train: DataSpec, validation: DataSpec | None) -> dict:
    """Counts and notes for the report: images per class, imbalance, skipped files.

    Args:
        train: the training data.
        validation: the validation data, or None.

    Returns:
        A JSON-friendly dict: source, classes, multi_label, train_size, validation_size, train_counts,
        val_counts, imbalance_ratio (largest over smallest class, None when no class has images), and the
        skipped files and notes of both parts, each once.

    Example:
        >>> summary = summarize(*load_data("photos/"))
        >>> summary["train_size"], [entry["path"] for entry in summary["skipped"]]
        (62, ['photos/cat/truncated.jpg'])
    """
    counts = train.class_counts()
    positive = [c for c in counts.values() if c > 0]
    return {
        "source": train.source,
        "classes": list(train.class_names),
        "multi_label": train.multi_label,
        "train_size": len(train),
        "validation_size": len(validation) if validation is not None else 0,
        "train_counts": counts,
        "val_counts": validation.class_counts() if validation is not None else {},
        "imbalance_ratio": (max(positive) / min(positive)) if positive else None,
        "skipped": _once_each(train.skipped, validation.skipped if validation is not None else []),
        "notes": _once_each(train.notes, validation.notes if validation is not None else []),
    }


def _once_each(*lists: list[dict]) -> list[dict]:
    """The entries of all lists in order, each once.

    The training and validation parts of a split hold the same skipped and notes lists (both are subsets of
    one scanned spec, `DataSpec.subset` keeps them), as do two Keras 2 flows of one folder.
    """
    seen: set[tuple] = set()
    merged = []
    for entry in (entry for entries in lists for entry in entries):
        key = tuple(sorted((name, str(value)) for name, value in entry.items()))
        if key not in seen:
            seen.add(key)
            merged.append(dict(entry))
    return merged
