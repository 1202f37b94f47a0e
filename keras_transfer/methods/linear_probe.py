"""The linear probe: logistic regression on the frozen pretrained features, as a Keras classifier.

The honest floor of transfer learning: whatever fine-tuning does must beat it.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.models.classifier import output_units
from keras_transfer.train.feature_cache import feature_model

# The grid `regularization="auto"` searches (scikit-learn's C, the inverse L2 strength).
REGULARIZATION_GRID = tuple(float(c) for c in np.logspace(-5, 2, 8))
# Above this many images the search is skipped (C = 1): with plenty of data the choice matters little
# and the search would cost minutes.
MAX_SEARCH_IMAGES = 5000


def choose_regularization(features: np.ndarray, labels: np.ndarray, *, multi_label: bool = False,
                          seed: int = 0) -> tuple[float, float | None]:
    """The L2 strength of the probe, chosen by stratified cross-validation on the training features.

    Args:
        features: (N, D) pooled backbone features.
        labels: one-hot (N, K) or binary (N, 1) labels.
        multi_label: multi-label data (no search: C = 1).
        seed: seeds the folds and the solver.

    Returns:
        `(C, its mean cross-validated accuracy)`; `(1.0, None)` when there is
        too little data per class to cross-validate (fewer than 2 per class),
        more than `MAX_SEARCH_IMAGES` images, or multi-label data.

    Example:
        >>> c, cv_accuracy = choose_regularization(features, labels)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1) > 0.5
    counts = np.bincount(np.asarray(classes, dtype=int))
    folds = int(min(5, counts[counts > 0].min())) if len(counts) else 0
    if multi_label or folds < 2 or len(features) > MAX_SEARCH_IMAGES or (counts > 0).sum() < 2:
        return 1.0, None
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)),
                          {"logisticregression__C": list(REGULARIZATION_GRID)},
                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    search.fit(features, classes)
    return float(search.best_params_["logisticregression__C"]), float(search.best_score_)


def probe_weights(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    multi_label: bool = False,
    regularization: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression on features, as the kernel and bias of the classifier's output layer.

    The regression (scikit-learn, L2, on standardised features) is folded back
    to raw features, so `softmax(features @ kernel + bias)` (or the sigmoid,
    for one output or multi-label) gives its probabilities.

    Args:
        features: (N, D) pooled backbone features.
        labels: one-hot (N, K), binary (N, 1) or multi-hot (N, K), as `extract_features` returns them.
        multi_label: one regression per label.
        regularization: scikit-learn's `C` (inverse L2 strength).
        seed: the solver's seed.

    Returns:
        `(kernel (D, units) float32, bias (units,) float32)`.

    Example:
        >>> kernel, bias = probe_weights(features, labels)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    units, _ = output_units(labels.shape[1] if labels.ndim == 2 and labels.shape[1] > 1 else 2, multi_label)

    def regression(target):
        return LogisticRegression(C=regularization, max_iter=2000, random_state=seed).fit(scaled, target)

    if units == 1 or multi_label:  # independent sigmoids, one regression per output
        columns = labels.reshape(len(labels), -1)
        coef = np.zeros((columns.shape[1], features.shape[1]))
        intercept = np.zeros(columns.shape[1])
        for column in range(columns.shape[1]):
            target = columns[:, column] > 0.5
            if target.all() or not target.any():
                intercept[column] = 20.0 if target.all() else -20.0
                continue
            fitted = regression(target)
            coef[column], intercept[column] = fitted.coef_[0], fitted.intercept_[0]
    else:
        fitted = regression(labels.argmax(axis=1))
        coef = np.zeros((units, features.shape[1]))
        intercept = np.full(units, -20.0)  # a class absent from training is never predicted
        if len(fitted.classes_) > 2:
            coef[fitted.classes_], intercept[fitted.classes_] = fitted.coef_, fitted.intercept_
        else:  # two classes present: a sigmoid, written as a two-way softmax
            coef[fitted.classes_] = np.stack([-fitted.coef_[0], fitted.coef_[0]]) / 2
            intercept[fitted.classes_] = np.array([-fitted.intercept_[0], fitted.intercept_[0]]) / 2
    # Fold the standardisation into the layer: (f - mean) / scale @ W + b.
    kernel = (coef / scaler.scale_).T
    bias = intercept - (scaler.mean_ / scaler.scale_) @ coef.T
    return kernel.astype(np.float32), bias.astype(np.float32)


def linear_probe(
    model: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    *,
    multi_label: bool = False,
    regularization: float = 1.0,
    seed: int = 0,
) -> keras.Model:
    """Logistic regression on frozen backbone features, as a Keras model.

    The regression is a Dense layer on top of a copy of `model`'s backbone, so
    the probe predicts, evaluates and exports like any classifier.

    Args:
        model: a `build_model` classifier whose backbone still has its pretrained weights.
        train: `(features, labels)` from `extract_features` (labels one-hot, (N, 1) binary or multi-hot).
        multi_label: one regression per label.
        regularization: scikit-learn's `C` (inverse L2 strength).
        seed: the solver's seed.

    Returns:
        An uncompiled `keras.Model` (pixels → probabilities) named like `model`.

    Example:
        >>> features, labels = extract_features(model, train_spec, (224, 224))
        >>> probe = linear_probe(model, (features, labels))
    """
    kernel, bias = probe_weights(*train, multi_label=multi_label, regularization=regularization, seed=seed)
    units, activation = output_units(kernel.shape[1] if kernel.shape[1] > 1 else 2, multi_label)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    outputs = keras.layers.Dense(units, activation=activation, dtype="float32", name="predictions")(
        feature_model(copy).output)
    probe = keras.Model(copy.inputs, outputs, name=model.name)
    probe.get_layer("predictions").set_weights([kernel, bias])
    return probe


@register_method
class LinearProbe(TransferMethod):
    """Logistic regression on the frozen pretrained features of the clean training images.

    Options:
        regularization: scikit-learn's `C` (inverse L2 strength), or `"auto"`
            (default): chosen by stratified cross-validation on the training
            features (`choose_regularization`).

    Example:
        >>> build_and_fit("photos/", method="linear_probe")
        >>> build_and_fit("photos/", baselines=["linear_probe"])  # scored beside the fine-tuned model
    """

    name = "linear_probe"
    needs_pretrained = True
    uses_features = True
    combines_with = frozenset({"fine_tune", "scratch"})
    option_defaults = {"regularization": "auto"}

    def fit(self, context) -> MethodResult:
        features, labels = context.clean_features()
        multi_label = context.train_spec.multi_label
        c, cv_accuracy = resolve_regularization(self.options["regularization"], features, labels,
                                                multi_label=multi_label, seed=context.seed)
        probe = linear_probe(context.model, (features, labels), multi_label=multi_label, regularization=c,
                             seed=context.seed)
        chosen = "chosen by cross-validation" if cv_accuracy is not None else "given"
        recipe = (f"logistic regression (L2, C={c:g} {chosen}, standardised features) on the frozen pretrained "
                  f"features of the {len(context.train_spec)} clean training images")
        return MethodResult(probe, record={"regularization": c, "cv_accuracy": cv_accuracy, "recipe": recipe})


def resolve_regularization(regularization: float | str, features: np.ndarray, labels: np.ndarray, *,
                           multi_label: bool = False, seed: int = 0) -> tuple[float, float | None]:
    """`"auto"` -> `choose_regularization`; a number is used as it is (no cross-validated accuracy).

    Returns:
        `(C, cross-validated accuracy or None)`.
    """
    if regularization == "auto":
        return choose_regularization(features, labels, multi_label=multi_label, seed=seed)
    if isinstance(regularization, str) or not regularization > 0:
        raise ValueError(f"The linear probe's regularization must be 'auto' or a positive number (scikit-learn's "
                         f"C), got {regularization!r}.")
    return float(regularization), None
