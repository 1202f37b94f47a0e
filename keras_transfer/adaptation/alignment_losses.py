"""Feature-alignment losses between a source and a target batch: Deep CORAL and multi-kernel MMD, in keras.ops.

Both take two batches of features `(n_s, d)` and `(n_t, d)` and return a
scalar that is zero when the batches match, so adding them to the
classification loss pulls the target features towards the source ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import ops

# tllib's MK-MMD kernels: Gaussian bandwidths 2^k times the mean squared distance, k = -3..1.
DEFAULT_BANDWIDTHS = (0.125, 0.25, 0.5, 1.0, 2.0)


def _covariance(features):
    """The unbiased covariance matrix of a batch of features, (d, d)."""
    count = ops.cast(ops.shape(features)[0], features.dtype)
    centred = features - ops.mean(features, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centred), centred) / ops.maximum(count - 1.0, 1.0)


def coral_loss(source, target):
    """Deep CORAL (Sun & Saenko 2016): `||C_s - C_t||_F^2 / (4 d^2)`, C the covariance of each batch.

    Args:
        source: source features (n_s, d).
        target: target features (n_t, d).

    Returns:
        A scalar tensor: zero when both batches have the same covariance.

    Example:
        >>> coral_loss(np.eye(4, 3, dtype="float32"), np.eye(4, 3, dtype="float32"))  # 0.0
    """
    source, target = ops.convert_to_tensor(source), ops.convert_to_tensor(target)
    dimension = ops.cast(ops.shape(source)[1], source.dtype)
    difference = _covariance(source) - _covariance(target)
    return ops.sum(ops.square(difference)) / (4.0 * dimension * dimension)


def _squared_distances(a, b):
    """Pairwise squared Euclidean distances between the rows of `a` and `b`."""
    squared = (ops.sum(ops.square(a), axis=1)[:, None] + ops.sum(ops.square(b), axis=1)[None, :]
               - 2.0 * ops.matmul(a, ops.transpose(b)))
    return ops.maximum(squared, 0.0)


def mmd_loss(source, target, bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS):
    """Multi-kernel MMD (Long et al. 2015, DAN), the biased estimate of MMD^2 under a sum of Gaussian kernels.

    `mean K(s, s') + mean K(t, t') - 2 mean K(s, t)` with
    `K = mean_k exp(-||x - y||^2 / (alpha_k * sigma^2))`, where sigma^2 is the
    mean squared distance of the joined batch (not differentiated through),
    as tllib's `MultipleKernelMaximumMeanDiscrepancy` with `GaussianKernel(alpha=2^k)`.

    Args:
        source: source features (n_s, d).
        target: target features (n_t, d).
        bandwidths: the alphas of the kernels.

    Returns:
        A scalar tensor: zero when the two batches are the same points.

    Example:
        >>> mmd_loss(source_features, target_features)
    """
    if not bandwidths or any(alpha <= 0 for alpha in bandwidths):
        raise ValueError(f"mmd_loss needs positive kernel bandwidths, got {list(bandwidths)}.")
    source, target = ops.convert_to_tensor(source), ops.convert_to_tensor(target)
    joined = ops.concatenate([source, target], axis=0)
    distances = _squared_distances(joined, joined)
    scale = ops.stop_gradient(ops.maximum(ops.mean(distances), 1e-12))
    kernel = ops.mean(ops.stack([ops.exp(-distances / (alpha * scale)) for alpha in bandwidths]), axis=0)
    count = ops.shape(source)[0]
    source_source = ops.mean(kernel[:count, :count])
    target_target = ops.mean(kernel[count:, count:])
    source_target = ops.mean(kernel[:count, count:])
    return source_source + target_target - 2.0 * source_target


ALIGNMENT_LOSSES = {"coral": coral_loss, "mmd": mmd_loss}
