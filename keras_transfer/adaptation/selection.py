"""Choosing between the adapted and the source-only model without reporting on the images the choice used.

With labelled target test data, one part (the selection split) chooses and
the other (the report split) reports both models side by side, so the
reported figure is not the one the choice was made on. Without it, the run
has only source validation to go on: the adapted model is kept unless it
costs the source task more than `max_source_drop` of accuracy, and the user is
told that nothing measured the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keras_transfer.data.sources import DataSpec
from keras_transfer.data.split import split_spec

ADAPTED, SOURCE_ONLY = "adapted", "source_only"
NO_TARGET_LABELS = (
    "No target_test_data: no labelled target image checked that {adaptation} adaptation helped (it can hurt: "
    "DeepDA's Deep CORAL scored below source-only on Office-31). The run monitored source validation only. Give "
    "target_test_data= (a few labelled target images) to choose between the adapted and the source-only model."
)


def split_target_test(spec: DataSpec, selection_share: float = 0.5, seed: int = 0) -> tuple[DataSpec, DataSpec]:
    """Splits labelled target test data into a selection part and a report part (stratified, seeded, disjoint).

    Args:
        spec: the labelled target test data.
        selection_share: the share used to choose between the models.
        seed: the split's seed.

    Returns:
        `(selection spec, report spec)`.

    Raises:
        ValueError: a share outside (0, 1) or fewer than 2 images.

    Example:
        >>> selection, report = split_target_test(target_test_spec, 0.5, seed=0)
    """
    if not 0 < selection_share < 1:
        raise ValueError(f"selection_share must be in (0, 1), got {selection_share}.")
    if len(spec) < 2:
        raise ValueError(f"target_test_data needs at least 2 labelled images (one to choose, one to report), got "
                         f"{len(spec)}.")
    report, selection = split_spec(spec, selection_share, seed)
    return selection, report


@dataclass
class Choice:
    """Which model is kept, on what evidence, and what the user must be told."""

    kept: str
    criterion: str
    warnings: list[str] = field(default_factory=list)


def choose_on_target(adapted_accuracy: float, source_only_accuracy: float, adaptation: str) -> Choice:
    """Keeps the source-only model, with a warning, when it scores higher on the target selection split.

    Args:
        adapted_accuracy, source_only_accuracy: accuracies on the selection split.
        adaptation: the method's name, for the message.

    Returns:
        The `Choice`.

    Example:
        >>> choose_on_target(0.61, 0.55, "dann").kept
        'adapted'
    """
    if source_only_accuracy > adapted_accuracy:
        return Choice(SOURCE_ONLY, "target selection split", [
            f"{adaptation} adaptation hurt: on the target selection split it scored accuracy {adapted_accuracy:.4f} "
            f"against {source_only_accuracy:.4f} for source-only training, so the source-only model is kept."])
    return Choice(ADAPTED, "target selection split")


def choose_on_source(adapted_accuracy: float | None, source_only_accuracy: float | None, adaptation: str,
                     max_source_drop: float = 0.05) -> Choice:
    """Without target labels: keeps the adapted model unless it loses more than `max_source_drop` on the source.

    Args:
        adapted_accuracy, source_only_accuracy: source validation accuracies (None without validation data).
        adaptation: the method's name, for the message.
        max_source_drop: the largest source-accuracy cost accepted.

    Returns:
        The `Choice` (always with the warning that the target was not measured).

    Example:
        >>> choose_on_source(0.90, 0.99, "mmd").kept
        'source_only'
    """
    warnings = [NO_TARGET_LABELS.format(adaptation=adaptation)]
    if adapted_accuracy is not None and source_only_accuracy is not None and (
            source_only_accuracy - adapted_accuracy > max_source_drop):
        warnings.append(f"{adaptation} adaptation cost the source task {source_only_accuracy - adapted_accuracy:.4f} "
                        f"of validation accuracy (more than {max_source_drop}): the source-only model is kept.")
        return Choice(SOURCE_ONLY, "source validation", warnings)
    return Choice(ADAPTED, "source validation", warnings)
