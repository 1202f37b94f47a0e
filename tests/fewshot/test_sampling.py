"""episodes(): seeded, class-balanced, support and query disjoint, clear errors."""

import numpy as np
import pytest

from keras_transfer.fewshot.sampling import episodes

LABELS = np.repeat(np.arange(7), 12)[np.random.default_rng(0).permutation(84)]


def test_same_seed_same_episodes_other_seed_others():
    first, again = episodes(LABELS, 5, 2, 3, 10, seed=4), episodes(LABELS, 5, 2, 3, 10, seed=4)
    other = episodes(LABELS, 5, 2, 3, 10, seed=5)
    for a, b in zip(first, again):
        assert a.classes == b.classes
        np.testing.assert_array_equal(a.support, b.support)
        np.testing.assert_array_equal(a.query, b.query)
    assert any(not np.array_equal(a.support, b.support) for a, b in zip(first, other))


def test_episodes_are_class_balanced_and_disjoint_and_check_their_input():
    for episode in episodes((np.zeros((84, 2, 2, 3)), LABELS), n_way=4, k_shot=3, queries=5, episodes=50, seed=0):
        assert len(set(episode.classes)) == 4
        assert not set(episode.support) & set(episode.query)
        assert len(set(episode.support)) == 12 and len(set(episode.query)) == 20
        np.testing.assert_array_equal(np.bincount(episode.support_labels), [3] * 4)
        np.testing.assert_array_equal(np.bincount(episode.query_labels), [5] * 4)
        classes = np.array(episode.classes)
        np.testing.assert_array_equal(LABELS[episode.support], classes[episode.support_labels])
        np.testing.assert_array_equal(LABELS[episode.query], classes[episode.query_labels])
    with pytest.raises(ValueError, match="at least 13 images"):
        episodes(LABELS, 5, 3, 10, 1)
    with pytest.raises(ValueError, match="n_way must be at least 2"):
        episodes(LABELS, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="k_shot must be a positive integer"):
        episodes(LABELS, 5, 0, 1, 1)
