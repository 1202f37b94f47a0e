"""`ScanResult`: what `scan_files` found for a list of files, and its readable report.

Example:
    >>> result = ScanResult.from_checks([check_file("cat.jpg"), check_file("empty.jpg")])
    >>> result.kept_indices, [entry["reason"] for entry in result.skipped]
    ([0], ['zero_byte'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keras_transfer.data.file_check import FileCheck
from keras_transfer.data.scan_reasons import NOTE_TEXT, REASON_TEXT


@dataclass(frozen=True)
class ScanResult:
    """What `scan_files` found.

    Attributes:
        paths: the usable paths in input order, skipped files left out and converted
            files replaced by their PNG copies. Feed these to the pipeline.
        kept_indices: for each entry of `paths`, its index in the input list
            (use it to pick the matching labels).
        skipped: `{"path", "reason", "detail"}` dicts for the files left out.
        notes: `{"path", "kind", "detail"}` dicts: report-only remarks on kept files.
        converted: original path → PNG copy, for converted files.
        checks: every `FileCheck`, in input order.
        from_cache: how many verdicts came from the cache instead of decoding.

    Example:
        >>> result = scan_files(files)
        >>> labels = [labels[i] for i in result.kept_indices]
    """

    paths: list[str]
    kept_indices: list[int]
    skipped: list[dict[str, str]]
    notes: list[dict[str, str]]
    converted: dict[str, str]
    checks: list[FileCheck] = field(repr=False)
    from_cache: int = 0

    @classmethod
    def from_checks(cls, checks: list[FileCheck], from_cache: int = 0) -> ScanResult:
        """Gathers per-file verdicts (in input order) into a result."""
        kept = [(index, check) for index, check in enumerate(checks) if check.kept]
        return cls(
            paths=[check.usable_path for _, check in kept],
            kept_indices=[index for index, _ in kept],
            skipped=[
                {"path": check.path, "reason": check.reason, "detail": check.detail}
                for check in checks
                if not check.kept
            ],
            notes=[
                {"path": check.path, "kind": kind, "detail": detail} for check in checks for kind, detail in check.notes
            ],
            converted={check.path: check.converted_path for _, check in kept if check.converted_path},
            checks=list(checks),
            from_cache=from_cache,
        )

    def summary(self, limit: int = 10) -> str:
        """A readable report: counts, then the skipped files, conversions and notes, grouped by kind.

        Args:
            limit: at most this many files listed per group.

        Returns:
            Text, one item a line.
        """
        lines = [
            f"Checked {len(self.checks)} image files: {len(self.paths)} usable "
            f"({len(self.converted)} converted to PNG), {len(self.skipped)} skipped, {len(self.notes)} notes"
            + (f"; {self.from_cache} verdicts from the cache." if self.from_cache else ".")
        ]
        skipped_groups = _group(self.skipped, "reason")
        for reason, entries in skipped_groups.items():
            lines.append(f"Skipped, {REASON_TEXT.get(reason, reason)} ({len(entries)}):")
            lines += _listing([f"{entry['path']}: {entry['detail']}" for entry in entries], limit)
        for kind, entries in _group(self.notes, "kind").items():
            lines.append(f"Note, {NOTE_TEXT.get(kind, kind)} ({len(entries)}):")
            lines += _listing([f"{entry['path']}: {entry['detail']}" for entry in entries], limit)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict: counts, paths, kept_indices, skipped, notes, converted and every check."""
        return {
            "total": len(self.checks),
            "usable": len(self.paths),
            "from_cache": self.from_cache,
            "paths": list(self.paths),
            "kept_indices": list(self.kept_indices),
            "skipped": [dict(entry) for entry in self.skipped],
            "notes": [dict(entry) for entry in self.notes],
            "converted": dict(self.converted),
            "checks": [check.to_dict() for check in self.checks],
        }


def _group(entries: list[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for entry in entries:
        groups.setdefault(entry[key], []).append(entry)
    return groups


def _listing(lines: list[str], limit: int) -> list[str]:
    shown = [f"  {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more (see ScanResult.skipped / .notes)")
    return shown
