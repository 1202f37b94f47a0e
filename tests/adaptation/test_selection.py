"""Choosing between the adapted and the source-only model: one target split chooses, the other reports."""

import numpy as np
import pytest

from keras_transfer.adaptation.selection import (
    ADAPTED,
    SOURCE_ONLY,
    choose_on_source,
    choose_on_target,
    split_target_test,
)
from keras_transfer.data.arrays import from_arrays
from keras_transfer.data.spec import DataSpec


def test_the_target_test_data_splits_into_disjoint_stratified_parts():
    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(4, 1).repeat(4, 2)
    spec = from_arrays(images, np.arange(40) % 4)
    selection, report = split_target_test(spec, 0.3, seed=0)
    assert np.bincount(selection.labels).tolist() == [3] * 4 and np.bincount(report.labels).tolist() == [7] * 4
    assert not set(selection.images[:, 0, 0, 0]) & set(report.images[:, 0, 0, 0])
    with pytest.raises(ValueError, match="selection_share"):
        split_target_test(spec, 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        split_target_test(DataSpec(class_names=["0", "1"], labels=np.array([0]), images=images[:1]), 0.5)


def test_the_source_only_model_is_kept_with_a_warning_when_adaptation_hurt():
    hurt = choose_on_target(0.50, 0.62, "coral")
    assert hurt.kept == SOURCE_ONLY and "coral adaptation hurt" in hurt.warnings[0]
    helped = choose_on_target(0.70, 0.62, "dann")
    assert helped.kept == ADAPTED and not helped.warnings
    assert choose_on_target(0.6, 0.6, "mmd").kept == ADAPTED  # a tie keeps the method, as for negative transfer
    unmeasured = choose_on_source(0.97, 0.98, "mmd")
    assert unmeasured.kept == ADAPTED and "No target_test_data" in unmeasured.warnings[0]
    costly = choose_on_source(0.80, 0.98, "dann", max_source_drop=0.05)
    assert costly.kept == SOURCE_ONLY and len(costly.warnings) == 2
