"""``linear``: TF-IDF word n-grams + numeric attributes → a linear model fitted by SGD (CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ml_common import features
from ml_common.contract import ContractError, Hyperparameters
from ml_common.model import LinearClassifier

from ml_training.metrics import classification_scores, emit


def train_linear(
    train: Sequence[dict[str, Any]], validation: Sequence[dict[str, Any]], hp: Hyperparameters
) -> tuple[LinearClassifier, dict[str, float], dict[str, Any]]:
    """Fit on ``train``, score on ``validation``; return (classifier, metrics, preprocessing)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss

    # Unigrams by default: bigrams cost ~40 % more per record at serving time for no gain on
    # the demo catalogs; raise ngram_max where word order matters.
    ngram_max = hp.int("ngram_max", 1)
    vectorizer = TfidfVectorizer(
        ngram_range=(1, ngram_max),
        sublinear_tf=True,
        min_df=hp.int("min_df", 2),
        max_features=hp.int("max_features", 200_000),
        dtype=np.float32,
    )
    vectorizer.fit(features.texts(train))
    labels = sorted({r["label"] for r in train})
    # SGD: linear time in the data (1M+ items a month) and two probabilistic losses to tune.
    alpha = hp.float("alpha", 1e-5)
    if not 0 < alpha < float("inf"):
        raise ContractError(f"hyperparameter alpha={alpha!r} must be a finite number above 0")
    model = SGDClassifier(
        loss=hp.choice("loss", "log_loss", ("log_loss", "modified_huber")),
        alpha=alpha,
        max_iter=hp.int("max_iter", 50),
        tol=1e-4,
        class_weight="balanced" if hp.bool("balanced", False) else None,
        random_state=hp.int("seed", 0),
    )
    classifier = LinearClassifier(vectorizer, model, labels)
    x_train = classifier.design_matrix(train)
    y_train = [r["label"] for r in train]
    try:
        model.fit(x_train, y_train)
    except ValueError as exc:
        if "overflow" not in str(exc):  # sklearn's "Floating-point under-/overflow occurred"
            raise
        raise ContractError(
            f"linear training diverged (alpha={alpha:g}): {exc}; no model written"
        ) from exc
    check_weights(classifier, alpha)
    classifier.labels = [str(c) for c in model.classes_]
    train_loss = float(log_loss(y_train, model.predict_proba(x_train), labels=model.classes_))
    emit("train", {"loss": train_loss})
    predicted = [classifier.labels[i] for i in classifier.predict_proba(validation).argmax(axis=1)]
    scores = classification_scores([r["label"] for r in validation], predicted)
    emit("validation", scores)
    preprocessing = {
        "version": features.PREPROCESSING_VERSION,
        "text": "title brand description",
        "vectorizer": "tfidf",
        "ngram_max": ngram_max,
        "vocabulary_size": len(vectorizer.vocabulary_),
        "numeric_features": list(features.NUMERIC_FEATURES),
    }
    return (
        classifier,
        {"train:loss": train_loss, **{f"validation:{k}": v for k, v in scores.items()}},
        preprocessing,
    )


def check_weights(classifier: LinearClassifier, alpha: float) -> None:
    """Refuse a fitted model whose weights are not all finite: it would answer NaN."""
    bad = classifier.non_finite_weights()
    if bad:
        raise ContractError(
            f"linear training diverged (alpha={alpha:g}): {', '.join(bad)} not finite after fit; "
            "no model written"
        )
