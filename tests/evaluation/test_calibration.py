"""Calibration bins and the expected calibration error, on a hand-worked example."""

import math

import numpy as np
import pytest

from keras_transfer.evaluation.calibration import calibration_bins, expected_calibration_error

# --- calibration bins ----------------------------------------------------------------------------


def test_calibration_bins_are_closed_on_the_right_and_cover_zero_and_one():
    y_prob = np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75], [0.6, 0.4]])
    bins = calibration_bins(np.array([0, 1, 1, 1]), y_prob, multi_label=False, bins=4)
    # confidences 1.0 (right), 0.5 (argmax 0, wrong), 0.75 (right), 0.6 (wrong)
    np.testing.assert_array_equal(bins["count"], [0, 1, 2, 1])  # 0.5 in (0.25, 0.5]; 0.6, 0.75 in (0.5, 0.75]
    np.testing.assert_allclose(bins["accuracy"][1:], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(bins["confidence"][1:], [0.5, 0.675, 1.0])
    assert math.isnan(bins["accuracy"][0])
    assert expected_calibration_error(bins) == pytest.approx((0.5 + 2 * 0.175 + 0.0) / 4)
