"""The text baseline: TF-IDF of word unigrams and bigrams + logistic regression (scikit-learn).

The TF-IDF is Keras' `TextVectorization(output_mode="tf_idf")`, adapted on
the training texts and L2-normalised; the logistic regression is
scikit-learn's, its regularisation chosen by 3-fold cross-validation on the
training texts. The fitted coefficients become the weights of a Dense layer,
so the baseline is a plain Keras model on raw strings: the recipe scores it
beside the fine-tuned encoder on the same validation texts and, under the
same negative-transfer rule as the image scratch baseline, keeps it (with a
warning) when it scores higher; it then exports like any text model.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from scipy import sparse

from keras_transfer.methods.base import MethodResult, TransferMethod, register_method
from keras_transfer.models.classifier import output_units

MAX_TOKENS = 20000
C_GRID = (0.5, 2.0, 8.0, 32.0)
CHUNK = 1024


@register_method
class TfidfLogisticRegression(TransferMethod):
    """TF-IDF + logistic regression on the raw training texts: the plain alternative a text encoder must beat.

    Options:
        max_tokens: the vocabulary size (unigrams and bigrams by frequency).
        ngrams: the longest word n-gram.

    Example:
        >>> build_and_fit("reviews.csv", backbone=minilm_folder, text_column="text")  # always scored beside it
    """

    name = "tfidf"
    option_defaults = {"max_tokens": MAX_TOKENS, "ngrams": 2}

    def fit(self, context) -> MethodResult:
        spec = context.train_spec
        model, record = fit_tfidf_classifier(list(spec.texts), spec.labels, spec.num_classes,
                                             multi_label=spec.multi_label, seed=context.seed, **self.options)
        return MethodResult(model, record={"recipe": record["recipe"], **record})


def fit_tfidf_classifier(texts: list[str], labels: np.ndarray, num_classes: int, *, multi_label: bool = False,
                         max_tokens: int = MAX_TOKENS, ngrams: int = 2, seed: int = 0) -> tuple[keras.Model, dict]:
    """Fits TF-IDF + logistic regression and returns it as a Keras model on raw strings.

    Args:
        texts: training texts.
        labels: int class ids (N,), or multi-hot (N, K).
        num_classes: K.
        multi_label: one binary regression per label.
        max_tokens: vocabulary size.
        ngrams: the longest word n-gram.
        seed: the solver's seed.

    Returns:
        `(model: strings (B,) -> probabilities (B, K), or (B, 1) for a binary task, record)`.

    Example:
        >>> model, record = fit_tfidf_classifier(["good", "bad"], np.array([1, 0]), 2)
        >>> model.predict(np.array(["good"], dtype=object)).shape
        (1, 1)
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=ngrams, output_mode="tf_idf",
                                                name="tfidf")
    vectorizer.adapt(np.array(texts, dtype=object), batch_size=CHUNK)
    normalize = keras.layers.UnitNormalization(name="l2_normalize")
    features = sparse.vstack([sparse.csr_matrix(normalize(vectorizer(np.array(texts[start:start + CHUNK],
                                                                               dtype=object))).numpy())
                              for start in range(0, len(texts), CHUNK)])
    labels = np.asarray(labels)
    width = features.shape[1]
    units, activation = output_units(num_classes, multi_label)
    kernel, bias = np.zeros((width, units), np.float32), np.zeros(units, np.float32)
    chosen: list[float] = []
    if multi_label:
        for k in range(num_classes):
            column = labels[:, k].astype(int)
            if column.min() == column.max():  # a label always (or never) present: a constant
                bias[k] = 10.0 if column[0] else -10.0
                continue
            regression = LogisticRegression(C=8.0, max_iter=2000, random_state=seed).fit(features, column)
            kernel[:, k], bias[k] = regression.coef_[0], regression.intercept_[0]
            chosen.append(8.0)
    else:
        folds = int(min(3, np.bincount(labels.astype(int)).min())) if len(labels) else 0
        regression = (LogisticRegressionCV(Cs=list(C_GRID), cv=folds, max_iter=2000, random_state=seed)
                      if folds >= 2 else LogisticRegression(C=8.0, max_iter=2000, random_state=seed))
        with warnings.catch_warnings():  # scikit-learn 1.8's notices about its future defaults
            warnings.simplefilter("ignore", FutureWarning)
            regression.fit(features, labels.astype(int))
        if units == 1:  # binary: one sigmoid output, the probability of class 1 (as the encoder's head)
            kernel[:, 0], bias[0] = regression.coef_[0], regression.intercept_[0]
        else:
            kernel[:, regression.classes_.astype(int)], bias[regression.classes_.astype(int)] = (
                regression.coef_.T, regression.intercept_)
        chosen.append(float(np.ravel(regression.C_)[0]) if hasattr(regression, "C_") else float(regression.C))
    inputs = keras.Input((), dtype="string", name="text")
    x = normalize(vectorizer(inputs))
    dense = keras.layers.Dense(units, activation=activation, name="predictions")
    outputs = dense(x)
    dense.set_weights([kernel, bias])
    model = keras.Model(inputs, outputs, name="tfidf_logistic_regression")
    record = {"recipe": f"TF-IDF (1-{ngrams}-grams, {width} terms, L2) + logistic regression (C={chosen[:1]})",
              "vocabulary_size": int(width), "C": chosen[:1]}
    return model, record
