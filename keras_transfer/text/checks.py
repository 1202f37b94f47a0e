"""Data checks for text: empty and duplicate texts, texts the sequence length truncates, encoding errors.

Label imbalance is the recipe's own check (`imbalance_warnings`). Empty texts
are dropped from training (there is nothing to classify); the rest are kept
and listed. Every finding goes into the run's data summary (`text_checks`)
and, as a sentence, into its warnings.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from keras_transfer.text.sources import TextSpec

EXAMPLES = 5


def drop_empty(spec: TextSpec, role: str = "training") -> tuple[TextSpec, list[int]]:
    """The spec without its empty (or whitespace-only) texts, and the dropped row indices.

    Raises:
        ValueError: every text is empty.
    """
    empty = [index for index, text in enumerate(spec.texts) if not str(text).strip()]
    if len(empty) == len(spec):
        raise ValueError(f"Every {role} text is empty ({len(spec)} rows): check text_column= names the column of "
                         "the texts.")
    if not empty:
        return spec, []
    keep = np.setdiff1d(np.arange(len(spec)), empty)
    return spec.subset(keep), empty


def check_texts(train: TextSpec, validation: TextSpec | None, train_lengths: np.ndarray, sequence_length: int,
                dropped_empty: dict[str, list[int]] | None = None) -> dict:
    """What the checks found, as a JSON-friendly dict.

    Args:
        train, validation: the texts (after empty ones were dropped).
        train_lengths: the training texts' token lengths (special tokens included).
        sequence_length: the tokens the model reads.
        dropped_empty: `{role: row indices}` of the empty texts dropped.

    Returns:
        `{"empty", "duplicates", "duplicates_across", "truncated", "truncated_share", "sequence_length",
        "token_length_percentiles", "undecodable", "examples"}`.

    Example:
        >>> findings = check_texts(train, val, lengths, 64)
        >>> findings["truncated"]
        3
    """
    counts = Counter(_normal(text) for text in train.texts)
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    across = 0
    if validation is not None:
        seen = set(counts)
        across = sum(_normal(text) in seen for text in validation.texts)
    truncated = np.flatnonzero(train_lengths > sequence_length)
    undecodable = list(train.undecodable) + (list(validation.undecodable) if validation is not None else [])
    lengths = train_lengths if len(train_lengths) else np.zeros(1)
    return {
        "empty": {role: len(rows) for role, rows in (dropped_empty or {}).items()},
        "duplicates": int(duplicates),
        "duplicates_across": int(across),
        "truncated": int(len(truncated)),
        "truncated_share": float(len(truncated) / max(1, len(train_lengths))),
        "sequence_length": int(sequence_length),
        "token_length_percentiles": {str(q): int(np.percentile(lengths, q)) for q in (50, 90, 99, 100)},
        "undecodable": len(undecodable),
        "examples": {
            "duplicates": [text for text, count in counts.most_common(EXAMPLES) if count > 1],
            "truncated": [str(train.texts[i])[:200] for i in truncated[:EXAMPLES]],
            "undecodable": [str(train.texts[i])[:200] for i in train.undecodable[:EXAMPLES]],
        },
    }


def check_warnings(findings: dict) -> list[str]:
    """The sentences the run's warnings (and report) list for the findings."""
    lines = []
    for role, count in findings["empty"].items():
        if count:
            lines.append(f"Dropped {count} empty {role} text(s): there is nothing to classify in them.")
    if findings["duplicates"]:
        lines.append(f"{findings['duplicates']} training text(s) repeat an earlier one (after lower-casing and "
                     f"trimming), e.g. {findings['examples']['duplicates'][:2]}: duplicates weigh more in training.")
    if findings["duplicates_across"]:
        lines.append(f"{findings['duplicates_across']} validation text(s) also appear in the training data: the "
                     "validation scores overstate the model on new text. Deduplicate before splitting.")
    if findings["truncated"]:
        lines.append(f"{findings['truncated']} training text(s) ({findings['truncated_share']:.1%}) are longer "
                     f"than the sequence length {findings['sequence_length']} tokens and are truncated (token "
                     f"lengths: {findings['token_length_percentiles']}); pass sequence_length= to read more.")
    if findings["undecodable"]:
        lines.append(f"{findings['undecodable']} text(s) were not valid UTF-8 (decoded with replacement "
                     f"characters), e.g. {findings['examples']['undecodable'][:1]}: check the file's encoding.")
    return lines


def _normal(text) -> str:
    return " ".join(str(text).lower().split())
