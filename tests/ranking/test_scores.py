"""Transferability scores against references computed independently in this file (issue 13's "Done when").

Each reference is written from the paper's definition, not through the
package's code path: LEEP by hand, H-score with np.cov / np.linalg.pinv and a
Ledoit-Wolf shrinkage written from Ledoit & Wolf (2004), LogME by maximising
the closed-form log evidence over (alpha, beta) with a grid and Nelder-Mead,
NLEEP's LEEP step with explicit loops over a mixture fitted here.
"""

import ast
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from keras_transfer.ranking import SCORES, hscore, knn_accuracy, leep, linear_probe_accuracy, logme, nleep, score_names


@pytest.fixture(autouse=True)
def _seeded_and_clean():
    """Overrides the suite's Keras seeding and `clear_session` (~0.4 s a test): these scores use no Keras."""
    yield


# --------------------------------------------------------------------------- references


def _closed_form_log_evidence(features, target, log_alpha, log_beta):
    """log p(y | F, alpha, beta) of the Bayesian linear model, written out as in You et al. (2021), eq. 2."""
    alpha, beta = np.exp(log_alpha), np.exp(log_beta)
    n, d = features.shape
    a = alpha * np.eye(d) + beta * features.T @ features
    m = beta * np.linalg.solve(a, features.T @ target)
    residual = target - features @ m
    return (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - n / 2 * np.log(2 * np.pi)
            - beta / 2 * residual @ residual - alpha / 2 * m @ m - 0.5 * np.linalg.slogdet(a)[1])


def _brute_force_logme(features, labels):
    """Per class: the grid maximum of the closed-form evidence, refined by Nelder-Mead; / N; mean over classes."""
    grid = np.arange(-12.0, 12.01, 1.0)
    per_class = []
    for c in np.unique(labels):
        target = (labels == c).astype(float)
        _, start = max((_closed_form_log_evidence(features, target, a, b), (a, b)) for a in grid for b in grid)
        best = minimize(lambda p, t=target: -_closed_form_log_evidence(features, t, *p), start, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
        per_class.append(-best.fun / len(labels))
    return float(np.mean(per_class))


def _hand_leep(theta, labels):
    """LEEP with explicit loops: P(y, z), P(z), P(y | z), then the mean log of sum_z P(y|z) theta_z."""
    n, num_source = theta.shape
    classes = sorted(set(labels.tolist()))
    joint = {
        (y, z): sum(theta[i, z] for i in range(n) if labels[i] == y) / n for y in classes for z in range(num_source)
    }
    marginal = {z: sum(joint[y, z] for y in classes) for z in range(num_source)}
    total = 0.0
    for i in range(n):
        total += np.log(sum(joint[labels[i], z] / marginal[z] * theta[i, z] for z in range(num_source) if marginal[z]))
    return total / n


def _hand_ledoit_wolf(x):
    """Ledoit & Wolf (2004), lemma 3.2 / 3.3: (shrinkage, shrunk covariance) of the rows of x (1/n normalisation)."""
    n, p = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / n
    mu = np.trace(s) / p
    d2 = np.sum((s - mu * np.eye(p)) ** 2) / p
    b2_bar = sum(np.sum((np.outer(row, row) - s) ** 2) for row in xc) / (n**2 * p)
    shrinkage = min(b2_bar, d2) / d2
    return shrinkage, shrinkage * mu * np.eye(p) + (1 - shrinkage) * s


def _class_mean_rows(x, labels):
    """Each row replaced by the mean of its class: samples of E[f | y]."""
    return np.stack([x[labels == y].mean(axis=0) for y in labels])


def _blobs(seed=0, per_class=30, dim=8, num_classes=3, spread=6.0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), per_class)
    centres = rng.normal(size=(num_classes, dim)) * spread
    return centres[labels] + rng.normal(size=(labels.size, dim)), labels


# --------------------------------------------------------------------------- LEEP


def test_leep_matches_the_hand_computed_four_sample_example():
    theta = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    labels = np.array([0, 0, 1, 1])
    # P(y,z) = [[1.5, 0.5], [0.5, 1.5]] / 4, P(z) = [0.5, 0.5], P(y|z) = [[0.75, 0.25], [0.25, 0.75]];
    # sum_z P(y_i|z) theta_iz = 0.9*0.75+0.1*0.25, 0.6*0.75+0.4*0.25, 0.2*0.25+0.8*0.75, 0.3*0.25+0.7*0.75
    expected = np.mean(np.log([0.7, 0.55, 0.65, 0.6]))
    assert leep(theta, labels) == pytest.approx(expected, abs=1e-12)
    assert leep(theta, labels + 5) == pytest.approx(expected, abs=1e-12)  # any label ids
    with_unused_source_class = np.hstack([theta, np.zeros((4, 1))])
    assert leep(with_unused_source_class, labels) == pytest.approx(expected, abs=1e-12)


def test_leep_matches_explicit_loops_and_is_zero_for_a_perfect_source_head():
    rng = np.random.default_rng(3)
    theta = rng.dirichlet(np.ones(5), size=23)
    labels = rng.integers(0, 3, size=23)
    assert leep(theta, labels) == pytest.approx(_hand_leep(theta, labels), abs=1e-12)
    assert leep(np.eye(3)[labels], labels) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- NLEEP


def test_nleep_is_leep_on_the_pca_80_gaussian_mixture_posteriors_and_deterministic():
    features, labels = _blobs(seed=1, per_class=20, dim=10, num_classes=2, spread=1.5)
    reduced = PCA(n_components=0.8, svd_solver="full").fit_transform(features)
    posteriors = GaussianMixture(n_components=10, random_state=7).fit(reduced).predict_proba(reduced)
    expected = _hand_leep(posteriors, labels)
    assert nleep(features, labels, seed=7) == pytest.approx(expected, abs=1e-9)  # default: 5 x 2 classes
    assert nleep(features, labels, seed=7) == nleep(features, labels, seed=7)
    assert nleep(features, labels, n_components=3, seed=0) <= 0.0


def test_nleep_caps_its_components_at_the_number_of_examples():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 4)
    assert np.isfinite(nleep(rng.normal(size=(8, 3)) + labels[:, None], labels))  # 10 components -> 8
    with pytest.raises(ValueError, match="n_components"):
        nleep(rng.normal(size=(8, 3)), labels, n_components=9)


# --------------------------------------------------------------------------- H-score


def test_hscore_one_feature_is_between_over_total_variance():
    features = np.array([[0.0], [2.0], [4.0], [6.0]])
    labels = np.array([0, 0, 1, 1])
    # class means 1 and 5 around 3: between = 4, total = (9 + 1 + 1 + 9) / 4 = 5;
    # Ledoit-Wolf does not shrink a single feature
    assert hscore(features, labels, shrinkage=False) == pytest.approx(0.8, abs=1e-12)
    assert hscore(features, labels, shrinkage=True) == pytest.approx(0.8, abs=1e-12)


def test_hscore_unregularised_matches_np_cov_and_pinv():
    features, labels = _blobs(seed=2, per_class=7, dim=3, spread=1.0)
    expected = np.trace(np.linalg.pinv(np.cov(features.T)) @ np.cov(_class_mean_rows(features, labels).T))
    assert hscore(features, labels, shrinkage=False) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("shape", [(40, 5), (12, 20)])
def test_hscore_shrinkage_matches_a_hand_written_ledoit_wolf(shape):
    rng = np.random.default_rng(4)
    labels = np.arange(shape[0]) % 3
    features = rng.normal(size=shape) + 0.8 * labels[:, None] * rng.normal(size=shape[1])
    shrinkage, shrunk = _hand_ledoit_wolf(features)
    centred_means = _class_mean_rows(features, labels) - features.mean(axis=0)
    between = centred_means.T @ centred_means / shape[0]  # class-frequency weighted
    expected = np.trace(np.linalg.inv(shrunk) @ ((1 - shrinkage) * between))
    assert 0.0 < shrinkage < 1.0
    assert hscore(features, labels) == pytest.approx(expected, rel=1e-9)


def test_unregularised_hscore_saturates_on_noise_in_high_dimension_and_shrinkage_does_not():
    rng = np.random.default_rng(5)
    labels = np.array([0, 1] * 10)
    noise = rng.normal(size=(20, 60))
    assert hscore(noise, labels, shrinkage=False) == pytest.approx(1.0, abs=1e-6)  # its maximum, C - 1
    assert hscore(noise, labels) < 0.5


# --------------------------------------------------------------------------- LogME


def _low_rank_features(rng, labels, n_dim, rank):
    latent = rng.normal(size=(labels.size, rank)) + 2.0 * rng.normal(size=(labels.max() + 1, rank))[labels]
    return latent @ rng.normal(size=(rank, n_dim))


@pytest.mark.parametrize("case", ["tall", "wide_rank_deficient", "wide_full_rank"])
def test_logme_is_the_maximum_closed_form_evidence_per_sample_averaged_over_classes(case):
    rng = np.random.default_rng(6)
    if case == "tall":  # N > D: the eigen-decomposition of F^T F
        labels = np.arange(45) % 3
        features = rng.normal(size=(45, 6)) + 2.0 * rng.normal(size=(3, 6))[labels]
    elif case == "wide_rank_deficient":  # N < D with rank(F) = 5 < N: the thin SVD and rank/2 log alpha
        labels = np.arange(16) % 2
        features = _low_rank_features(rng, labels, n_dim=24, rank=5)
    else:  # N < D, rank(F) = N
        labels = np.arange(12) % 2
        features = rng.normal(size=(12, 20)) + 1.5 * rng.normal(size=(2, 20))[labels]
    assert logme(features, labels) == pytest.approx(_brute_force_logme(features, labels), abs=1e-6)


def test_logme_ignores_feature_scale_and_label_ids():
    features, labels = _blobs(seed=7, per_class=15, dim=5, spread=1.0)
    value = logme(features, labels)
    assert logme(1e3 * features, labels) == pytest.approx(value, abs=1e-8)
    assert logme(features, 10 * labels + 3) == value


# --------------------------------------------------------------------------- all scores


def _inputs(needs, features, labels, informative):
    """The features, or for LEEP a 4-class source head's softmax: following the labels, or random."""
    if needs == "features":
        return features
    logits = np.random.default_rng(int(informative)).normal(size=(labels.size, 4))
    logits += 4.0 * np.eye(4)[labels] if informative else 0.0
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", sorted(SCORES))
def test_separable_features_outscore_noise_and_scores_are_deterministic(name):
    spec = SCORES[name]
    features, labels = _blobs(seed=0)
    noise = np.random.default_rng(1).normal(size=features.shape)
    good = spec.function(_inputs(spec.needs, features, labels, informative=True), labels)
    bad = spec.function(_inputs(spec.needs, noise, labels, informative=False), labels)
    assert good > bad
    assert spec.function(_inputs(spec.needs, features, labels, informative=True), labels) == good


def test_probes_are_perfect_on_separable_blobs_and_near_chance_on_noise():
    features, labels = _blobs(seed=0)
    noise = np.random.default_rng(1).normal(size=features.shape)
    assert knn_accuracy(features, labels) == 1.0
    assert linear_probe_accuracy(features, labels) == 1.0
    assert knn_accuracy(noise, labels, seed=3) < 0.6
    three_each = np.concatenate([np.flatnonzero(labels == c)[:3] for c in range(3)])
    assert 0.0 <= knn_accuracy(features[three_each], labels[three_each], k=50) <= 1.0  # 3 folds, k capped at 6


def test_registry_describes_every_score():
    assert set(SCORES) == {"logme", "nleep", "hscore", "leep", "knn", "linear_probe"}
    assert score_names("source_probabilities") == ["leep"]
    for name, spec in SCORES.items():
        assert spec.name == name and callable(spec.function) and spec.higher_is_better
        assert spec.needs in ("features", "source_probabilities")
        assert spec.description and "\n" not in spec.description


def test_ranking_modules_import_no_keras():
    for path in (Path(__file__).parents[2] / "keras_transfer" / "ranking").glob("*.py"):
        if not (path.name.startswith("_") or path.name == "scores.py"):
            continue  # only the scores' modules: the package's other modules may use Keras
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"keras", "tensorflow"}, path.name


# --------------------------------------------------------------------------- bad input

FEATURE_SCORES = [logme, nleep, hscore, knn_accuracy, linear_probe_accuracy]


def test_bad_input_is_a_clear_value_error():
    features, labels = _blobs(seed=0, per_class=5)
    broken = features.copy()
    broken[3, 1] = np.nan
    bad_calls = [
        ((features, labels[:-1]), "one label per example"),
        ((features, np.zeros_like(labels)), "single class"),
        ((broken, labels), "NaN or infinite.*impute"),
        ((features, np.eye(3)[labels]), "argmax"),
        ((features[:, 0], labels), r"2-D \(N, D\)"),
        ((features, labels + 0.5), "integer class indices"),
    ]
    for score in FEATURE_SCORES:
        for arguments, message in bad_calls:
            with pytest.raises(ValueError, match=message):
                score(*arguments)


def test_leep_and_probe_specific_errors():
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="softmax"):
        leep(np.array([[2.0, -1.0]] * 4), labels)
    with pytest.raises(ValueError, match="single example"):
        knn_accuracy(np.random.default_rng(0).normal(size=(5, 2)), np.array([0, 0, 0, 0, 1]))
