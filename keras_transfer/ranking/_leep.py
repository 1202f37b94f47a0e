"""LEEP and NLEEP: how well a (pseudo-)source classifier's outputs predict the target labels.

LEEP: Nguyen, Hassner, Seeger & Archambeau, "LEEP: A New Measure to Evaluate
Transferability of Learned Representations", ICML 2020. From the source
head's probabilities theta(x) over source classes z, the empirical joint
`P(y, z) = 1/N sum_{i: y_i = y} theta(x_i)_z`, the conditional
`P(y | z) = P(y, z) / P(z)`, and the score is the mean log-likelihood of the
"expected empirical predictor": `1/N sum_i log sum_z P(y_i | z) theta(x_i)_z`.

NLEEP: Li, Jia, Zhou, Cui, Gong, Wang & Deng, "Ranking Neural Checkpoints",
CVPR 2021. No source head is needed: the features are reduced by PCA (80 % of
the variance kept), a Gaussian mixture is fitted to them, and its component
posteriors play the part of theta(x) in LEEP.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import checked_features, checked_matrix, class_indices

NLEEP_VARIANCE = 0.8
NLEEP_COMPONENTS_PER_CLASS = 5


def leep(source_probabilities: np.ndarray, labels: np.ndarray) -> float:
    """LEEP score of a source classifier's probabilities for the target labels (higher is better).

    Args:
        source_probabilities: `(N, Z)` probabilities of the Z source classes for
            each target example (the softmax of the pretrained head), rows summing to 1.
        labels: `(N,)` integer target class indices (any ids, at least two classes).

    Returns:
        The mean log-likelihood of the target labels under the expected empirical
        predictor (always <= 0; 0 is perfect).

    Raises:
        ValueError: mismatched lengths, a single class, NaN values, negative
            probabilities or rows that do not sum to 1 (apply a softmax to logits).

    Example:
        >>> import numpy as np
        >>> theta = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
        >>> round(leep(theta, np.array([0, 0, 1, 1])), 4)  # mean(log([0.7, 0.55, 0.65, 0.6]))
        -0.474
    """
    theta = checked_matrix(source_probabilities, "source_probabilities")
    if theta.min() < 0.0 or not np.allclose(theta.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "source_probabilities must be probabilities (non-negative rows summing to 1): "
            "apply a softmax to the source head's logits first."
        )
    theta = theta / theta.sum(axis=1, keepdims=True)
    indices, num_classes = class_indices(labels, theta.shape[0])
    return _leep(theta, indices, num_classes)


def nleep(
    features: np.ndarray,
    labels: np.ndarray,
    n_components: int | None = None,
    seed: int = 0,
    *,
    variance: float = NLEEP_VARIANCE,
    covariance_type: str = "full",
) -> float:
    """NLEEP score of frozen features: LEEP on the posteriors of a Gaussian mixture (higher is better).

    The features are projected by PCA onto the fewest components that explain
    `variance` of their variance; a `GaussianMixture(n_components,
    covariance_type, random_state=seed)` (k-means initialisation) is fitted to
    the projections; its posteriors over the components are the pseudo-source
    probabilities fed to LEEP. Deterministic for a fixed seed.

    Args:
        features: `(N, D)` float features of the target examples.
        labels: `(N,)` integer class indices (any ids, at least two classes).
        n_components: mixture components; default 5 x the number of classes (the
            paper's choice), capped by N.
        seed: the mixture's random state.
        variance: fraction of the variance the PCA keeps (0 < variance <= 1; 1 keeps all).
        covariance_type: the mixture's covariance ("full", "diag", "tied", "spherical").

    Returns:
        The LEEP of the mixture posteriors (<= 0; 0 is perfect).

    Raises:
        ValueError: mismatched lengths, a single class, NaN features, a bad n_components or variance.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> labels = np.repeat([0, 1], 40)
        >>> good = rng.normal(size=(80, 6)) + 5.0 * labels[:, None]
        >>> bad = rng.normal(size=(80, 6))
        >>> bool(nleep(good, labels) > nleep(bad, labels))
        True
    """
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    matrix, indices, num_classes = checked_features(features, labels)
    num_samples = matrix.shape[0]
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1], got {variance}: e.g. 0.8 keeps 80 % of the variance.")
    if n_components is None:
        n_components = min(NLEEP_COMPONENTS_PER_CLASS * num_classes, num_samples)
    elif not 1 <= int(n_components) <= num_samples:
        raise ValueError(f"n_components must be between 1 and the number of examples ({num_samples}), "
                         f"got {n_components}.")
    keep = variance if variance < 1.0 else None
    reduced = PCA(n_components=keep, svd_solver="full").fit_transform(matrix)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture = GaussianMixture(n_components=int(n_components), covariance_type=covariance_type, random_state=seed)
        posteriors = mixture.fit(reduced).predict_proba(reduced)
    return _leep(posteriors, indices, num_classes)


def _leep(theta: np.ndarray, indices: np.ndarray, num_classes: int) -> float:
    """LEEP of validated probabilities `theta` `(N, Z)` for class indices `0..C-1`."""
    num_samples = theta.shape[0]
    joint = np.zeros((num_classes, theta.shape[1]))
    np.add.at(joint, indices, theta)
    joint /= num_samples  # P(y, z)
    marginal = joint.sum(axis=0)  # P(z)
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)  # P(y | z)
    likelihood = np.einsum("nz,nz->n", theta, conditional[indices])  # sum_z P(y_i | z) theta(x_i)_z
    return float(np.mean(np.log(np.maximum(likelihood, np.finfo(np.float64).tiny))))
