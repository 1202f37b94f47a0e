"""H-score: how much of the features' variance lies between the class means.

Bao, Li, Huang, Wu, Zheng & Liu, "An Information-Theoretic Approach to
Transferability in Task Transfer Learning", ICIP 2019:
`H(f) = tr(cov(f)^-1 cov(E[f | y]))`, where `E[f | y]` is each example's class
mean, so its covariance is the class-frequency-weighted covariance of the class
means (the between-class scatter). It is at most the number of classes minus 1.

The raw covariance is singular or badly conditioned when D is large next to N,
and its inverse then dominates the score. Ibrahim, Ponomareva & Mazumder,
"Newer is not always better: Rethinking transferability metrics, their
peculiarities, stability and performance" (arXiv:2110.06893), regularise it:
`H_alpha(f) = tr(cov_alpha(f)^-1 (1 - alpha) cov(E[f | y]))` with the
Ledoit-Wolf shrinkage estimate `cov_alpha = (1 - alpha) cov + alpha mu I` and its
shrinkage `alpha`. Both covariances here use the maximum-likelihood 1/N
normalisation (as Ledoit-Wolf does), so the two are on the same scale.
"""

from __future__ import annotations

import numpy as np

from ._validation import checked_features


def hscore(features: np.ndarray, labels: np.ndarray, shrinkage: bool = True) -> float:
    """H-score of frozen features for the target labels (higher is better).

    Args:
        features: `(N, D)` float features of the target examples.
        labels: `(N,)` integer class indices (any ids, at least two classes).
        shrinkage: True (default): the regularised H-score of Ibrahim et al. with the
            Ledoit-Wolf covariance; False: Bao et al.'s original, with the
            pseudo-inverse of the empirical covariance (unstable when D is not small next to N).

    Returns:
        The H-score, between 0 and the number of classes minus 1.

    Raises:
        ValueError: mismatched lengths, a single class, NaN features.

    Example:
        >>> import numpy as np
        >>> features = np.array([[0.0], [2.0], [4.0], [6.0]])
        >>> round(hscore(features, np.array([0, 0, 1, 1]), shrinkage=False), 6)  # between 4 / total 5
        0.8
    """
    matrix, indices, num_classes = checked_features(features, labels)
    num_samples = matrix.shape[0]
    centred = matrix - matrix.mean(axis=0)
    counts = np.bincount(indices, minlength=num_classes).astype(np.float64)
    means = np.zeros((num_classes, matrix.shape[1]))
    np.add.at(means, indices, centred)
    means /= counts[:, None]
    between = (means.T * (counts / num_samples)) @ means  # cov(E[f | y]), class-frequency weighted
    if shrinkage:
        from sklearn.covariance import LedoitWolf

        estimate = LedoitWolf(assume_centered=True).fit(centred)
        covariance, scale = estimate.covariance_, 1.0 - float(estimate.shrinkage_)
    else:
        covariance, scale = centred.T @ centred / num_samples, 1.0
    inverse = np.linalg.pinv(covariance, hermitian=True)
    return float(scale * np.sum(inverse * between))  # tr(inverse @ between), both symmetric
