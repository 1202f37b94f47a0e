"""The proxy A-distance and the 2-D embedding of source and target features."""

import numpy as np
import pytest

from keras_transfer.adaptation.domain_metrics import a_distance, domain_shift, pca_embedding, plot_domain_embedding

RNG = np.random.default_rng(0)
SOURCE = RNG.normal(size=(200, 6))


def test_a_distance_is_near_two_for_separate_domains_and_near_zero_for_the_same_one():
    assert a_distance(SOURCE, RNG.normal(size=(150, 6)) + 4.0) == pytest.approx(2.0, abs=0.05)
    assert a_distance(SOURCE, RNG.normal(size=(200, 6))) < 0.3
    with pytest.raises(ValueError, match="same width"):
        a_distance(SOURCE, RNG.normal(size=(10, 5)))
    with pytest.raises(ValueError, match="at least 4"):
        a_distance(SOURCE[:3], SOURCE[:3])


def test_the_embedding_keeps_the_top_two_components_and_plots_one_panel_per_space(tmp_path):
    target = RNG.normal(size=(50, 6)) * [5, 1, 1, 1, 1, 1]
    embedding = pca_embedding(SOURCE, target, points=40)
    assert np.asarray(embedding["source"]).shape == (40, 2) and np.asarray(embedding["target"]).shape == (40, 2)
    joined = np.concatenate([embedding["source"], embedding["target"]])
    assert joined[:, 0].var() >= joined[:, 1].var()  # the first component carries the most variance
    record = domain_shift(SOURCE, target)
    figure = plot_domain_embedding({"before": record, "after": record}, tmp_path / "domains.png")
    assert len(figure.axes) == 2 and "A-distance" in figure.axes[0].get_title()
    assert (tmp_path / "domains.png").stat().st_size > 0
    with pytest.raises(ValueError, match="at least one panel"):
        plot_domain_embedding({})
