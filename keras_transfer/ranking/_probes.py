"""Direct estimates of head-only accuracy: cross-validated kNN and logistic-regression probes.

Both are out-of-fold accuracies: stratified K-fold (shuffled with `seed`), the
scaler and the classifier fitted on the training folds only, every example
predicted once, accuracy over all of them. The number of folds is
`min(folds, examples in the rarest class)` (at least 2), so every fold can hold
each class; a class with a single example is an error.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._validation import checked_features, min_class_count


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated k-nearest-neighbour accuracy on the frozen features (higher is better).

    Features are standardised (per-dimension z-score, fitted on the training
    folds), then classified by a majority vote of the `k` nearest training
    examples in cosine distance (ties go to the lowest class index).

    Args:
        features: `(N, D)` float features of the target examples.
        labels: `(N,)` integer class indices (any ids, at least two classes, two examples each).
        k: neighbours (capped by the size of the smallest training split).
        folds: cross-validation folds (fewer when the rarest class has fewer examples).
        seed: the shuffle of the folds.

    Returns:
        The out-of-fold accuracy in [0, 1].

    Raises:
        ValueError: mismatched lengths, a single class, NaN features, a class with one example, k < 1.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> labels = np.repeat([0, 1], 30)
        >>> knn_accuracy(rng.normal(size=(60, 4)) + 6.0 * labels[:, None], labels)
        1.0
    """
    from sklearn.neighbors import KNeighborsClassifier

    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    matrix, indices, _ = checked_features(features, labels)
    splitter = _stratified_folds(indices, folds, seed)
    smallest_train = min(train.size for train, _ in splitter.split(matrix, indices))
    classifier = KNeighborsClassifier(n_neighbors=min(k, smallest_train), metric="cosine", algorithm="brute")
    return _out_of_fold_accuracy(classifier, matrix, indices, splitter)


def linear_probe_accuracy(
    features: np.ndarray, labels: np.ndarray, folds: int = 5, seed: int = 0, *, C: float = 1.0
) -> float:
    """Cross-validated logistic-regression (linear probe) accuracy on the frozen features (higher is better).

    Features are standardised on the training folds, then a multinomial
    L2-regularised logistic regression (lbfgs, `C`, up to 1000 iterations) is
    fitted. `C = 1` on z-scored features is a moderate penalty that does not
    need tuning to rank backbones; raise it for large N, lower it for N << D.

    Args:
        features: `(N, D)` float features of the target examples.
        labels: `(N,)` integer class indices (any ids, at least two classes, two examples each).
        folds: cross-validation folds (fewer when the rarest class has fewer examples).
        seed: the shuffle of the folds.
        C: inverse L2 regularisation strength.

    Returns:
        The out-of-fold accuracy in [0, 1].

    Raises:
        ValueError: mismatched lengths, a single class, NaN features, a class with one example, C <= 0.

    Example:
        >>> import numpy as np
        >>> values = np.concatenate([np.linspace(-3.0, -1.0, 20), np.linspace(1.0, 3.0, 20)])
        >>> linear_probe_accuracy(values[:, None], (values > 0).astype(int))
        1.0
    """
    from sklearn.linear_model import LogisticRegression

    if not C > 0:
        raise ValueError(f"C must be positive, got {C}.")
    matrix, indices, _ = checked_features(features, labels)
    classifier = LogisticRegression(C=C, max_iter=1000)
    return _out_of_fold_accuracy(classifier, matrix, indices, _stratified_folds(indices, folds, seed))


def _stratified_folds(indices: np.ndarray, folds: int, seed: int) -> Any:
    """A shuffled `StratifiedKFold` of `min(folds, rarest class count)` splits (ValueError below 2)."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}.")
    rarest = min_class_count(indices)
    if rarest < 2:
        raise ValueError(
            "a class has a single example, so cross-validation cannot both train and test on it: "
            "collect at least two examples per class or drop that class."
        )
    return StratifiedKFold(n_splits=min(folds, rarest), shuffle=True, random_state=seed)


def _out_of_fold_accuracy(classifier: Any, matrix: np.ndarray, indices: np.ndarray, splitter: Any) -> float:
    """Accuracy of `StandardScaler -> classifier` predictions made out of fold."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predictions = cross_val_predict(make_pipeline(StandardScaler(), classifier), matrix, indices, cv=splitter)
    return float(np.mean(predictions == indices))
