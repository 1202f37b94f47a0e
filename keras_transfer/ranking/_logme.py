"""LogME: the maximum evidence of a Bayesian linear head on frozen features.

You, Liu, Wang & Long, "LogME: Practical Assessment of Pre-trained Models for
Transfer Learning", ICML 2021. For each class c, the one-vs-rest target
`y_c = [label == c]` is modelled as `y = F w + noise`, `w ~ N(0, 1/alpha I)`,
`noise ~ N(0, 1/beta I)`. The log evidence

    L(alpha, beta) = D/2 log alpha + N/2 log beta - N/2 log 2 pi
                     - beta/2 ||y - F m||^2 - alpha/2 m.m - 1/2 log|A|,
    A = alpha I + beta F^T F,  m = beta A^-1 F^T y,

is maximised over (alpha, beta) by MacKay's fixed point
`alpha <- gamma / m.m`, `beta <- (N - gamma) / ||y - F m||^2`,
`gamma = sum_i beta s_i / (alpha + beta s_i)` (s_i the eigenvalues of F^T F),
which the SVD of F makes O(rank) per step. The score is the paper's
normalisation: the maximum log evidence divided by N, averaged over classes.

Rank-deficient F (in particular N < D): the D - rank directions of A are
`alpha` alone, so `D/2 log alpha - 1/2 log|A|` becomes
`rank/2 log alpha - 1/2 sum_i log(alpha + beta s_i)` over the non-zero s_i.
(The authors' fixed-point code keeps `D/2 log alpha` with the thin SVD, which
overstates the evidence by `(D - rank)/2 log alpha / N` there; this module
uses the exact value, which is what the closed form above gives.)
"""

from __future__ import annotations

import numpy as np

from ._validation import checked_features

_MAX_ITERATIONS = 1000
_T_RTOL = 1e-10  # stop when alpha / beta moves by less than this (relative) ...
_EVIDENCE_ATOL = 1e-14  # ... or the per-sample evidence by less than this
_FLOOR = 1e-30  # relative floor on ||m||^2 and the residual, for features that fit y exactly
_TINY = 1e-300  # keeps alpha > 0 when the fit uses no direction at all


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME score of frozen features for a classification target (higher is better).

    Features are used as given (no centring or scaling), as in the paper; the
    score is invariant to a global rescaling of the features.

    Args:
        features: `(N, D)` float features of the target examples from the frozen backbone.
        labels: `(N,)` integer class indices (any ids, at least two classes).

    Returns:
        The mean over classes of the maximum log evidence per example
        (a log-likelihood per example: usually between about -2 and 2).

    Raises:
        ValueError: mismatched lengths, a single class, NaN/infinite or all-zero features.

    Example:
        >>> import numpy as np
        >>> features = np.array([[1.0, 0.1], [0.9, -0.2], [0.1, 1.0], [-0.2, 0.8]])
        >>> round(logme(features, np.array([0, 0, 1, 1])), 3)
        -0.568
    """
    matrix, indices, num_classes = checked_features(features, labels)
    num_samples = matrix.shape[0]
    targets = np.eye(num_classes)[indices]  # (N, C) one-vs-rest targets
    spectrum, projections = _spectrum_and_projections(matrix, targets)
    evidences = [
        _max_evidence(spectrum, projections[:, c], float(targets[:, c].sum()), num_samples) for c in range(num_classes)
    ]
    return float(np.mean(evidences))


def _spectrum_and_projections(matrix: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero eigenvalues `s` of F^T F, `(k,)`, and the targets on the left singular vectors, `U^T Y`, `(k, C)`."""
    num_samples, dim = matrix.shape
    if num_samples > dim:
        # The D x D Gram matrix is cheaper than the SVD of a tall F; U^T Y = V^T F^T Y / sqrt(s).
        spectrum, right = np.linalg.eigh(matrix.T @ matrix)
        keep = spectrum > max(spectrum.max(), 0.0) * dim * 1e-12
        spectrum, right = spectrum[keep], right[:, keep]
        projections = (right.T @ (matrix.T @ targets)) / np.sqrt(spectrum)[:, None]
    else:
        left, singular, _ = np.linalg.svd(matrix, full_matrices=False)
        keep = singular > singular.max() * max(num_samples, dim) * np.finfo(np.float64).eps
        spectrum, projections = singular[keep] ** 2, left[:, keep].T @ targets
    if spectrum.size == 0:
        raise ValueError("features are all zero (rank 0): LogME needs features that vary; check the extractor.")
    return spectrum, projections


def _max_evidence(spectrum: np.ndarray, projection: np.ndarray, target_norm2: float, num_samples: int) -> float:
    """Maximum over (alpha, beta) of the log evidence per sample, for one target with `U^T y = projection`."""
    rank = spectrum.size
    projection2 = projection**2
    outside = max(target_norm2 - float(projection2.sum()), 0.0)  # ||y||^2 off the column space of F
    m2_floor = _FLOOR * target_norm2 / float(spectrum.max())
    residual_floor = _FLOOR * target_norm2

    def statistics(ratio: float) -> tuple[float, float, float]:
        shrink = spectrum / (spectrum + ratio)
        gamma = float(shrink.sum())
        m2 = float((shrink**2 * projection2 / spectrum).sum())
        residual = float(((1.0 - shrink) ** 2 * projection2).sum()) + outside
        return gamma, m2, residual

    def evidence(alpha: float, beta: float, m2: float, residual: float) -> float:
        total = (
            rank / 2.0 * np.log(alpha)
            + num_samples / 2.0 * np.log(beta)
            - 0.5 * float(np.log(alpha + beta * spectrum).sum())
            - beta / 2.0 * residual
            - alpha / 2.0 * m2
            - num_samples / 2.0 * np.log(2.0 * np.pi)
        )
        return float(total) / num_samples

    alpha, beta = 1.0, 1.0
    gamma, m2, residual = statistics(alpha / beta)
    value = evidence(alpha, beta, m2, residual)
    for _ in range(_MAX_ITERATIONS):
        ratio = alpha / beta
        alpha = max(gamma, _TINY) / max(m2, m2_floor)
        beta = (num_samples - gamma) / max(residual, residual_floor)
        gamma, m2, residual = statistics(alpha / beta)
        new_value = evidence(alpha, beta, m2, residual)
        converged = abs(alpha / beta - ratio) <= _T_RTOL * ratio or abs(new_value - value) <= _EVIDENCE_ATOL
        value = new_value
        if converged:
            break
    return value
