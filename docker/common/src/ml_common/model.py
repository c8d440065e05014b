"""Saving and loading trained models, so the inference image serves either algorithm.

A model directory (``/opt/ml/model``, tarred by SageMaker into model.tar.gz) holds:
``model_card.json``, ``label_map.json``, ``preprocessing.json`` and the algorithm's weights —
``linear.joblib`` (scikit-learn objects only) or ``neural.pt`` (a PyTorch state dict, loaded
with ``weights_only=True``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ml_common import features

MODEL_CARD = "model_card.json"
LABEL_MAP = "label_map.json"
PREPROCESSING = "preprocessing.json"
LINEAR_WEIGHTS = "linear.joblib"
NEURAL_WEIGHTS = "neural.pt"


class Classifier(Protocol):
    labels: list[str]

    def predict_proba(self, records: Sequence[dict[str, Any]]) -> np.ndarray: ...

    def non_finite_weights(self) -> list[str]: ...


class ScoringError(ValueError):
    """The model's probabilities for one record are not finite: an error, never a null answer."""

    def __init__(self, index: int, item_id: Any):
        self.index, self.item_id = index, item_id
        super().__init__(
            "the model's probabilities for this record are not finite (NaN or infinity), "
            "so it has no answer"
        )


# ---- linear (scikit-learn) -------------------------------------------------------------------


class LinearClassifier:
    """TF-IDF word n-grams + numeric attributes → multinomial logistic regression."""

    def __init__(self, vectorizer, model, labels: list[str]):
        self.vectorizer = vectorizer
        self.model = model
        self.labels = labels

    def design_matrix(self, records: Sequence[dict[str, Any]]):
        from scipy import sparse

        text = self.vectorizer.transform(features.texts(records))
        numeric = sparse.csr_matrix(features.numeric_matrix(records))
        return sparse.hstack([text, numeric], format="csr")

    def predict_proba(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        if not records:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.model.predict_proba(self.design_matrix(records))

    def non_finite_weights(self) -> list[str]:
        """Names of the fitted arrays holding NaN or ±inf (empty for a usable model)."""
        return [
            name
            for name in ("coef_", "intercept_")
            if not np.isfinite(np.asarray(getattr(self.model, name))).all()
        ]

    def save(self, model_dir: Path) -> None:
        import joblib

        joblib.dump(
            {"vectorizer": self.vectorizer, "model": self.model}, model_dir / LINEAR_WEIGHTS
        )


# ---- neural (PyTorch) ------------------------------------------------------------------------


def hashing_vectorizer(preprocessing: dict[str, Any]):
    """The stateless text hashing both training and inference use (murmurhash, deterministic)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        n_features=int(preprocessing["num_buckets"]),
        ngram_range=(1, int(preprocessing["ngram_max"])),
        alternate_sign=False,
        norm="l2",
        dtype=np.float32,
    )


def build_network(
    num_buckets: int, embedding_dim: int, hidden_size: int, num_classes: int, dropout: float
):
    """Hashed n-gram EmbeddingBag (TF weighted) + numeric attributes → MLP."""
    import torch
    from torch import nn

    class HashedBagClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(num_buckets, embedding_dim, mode="sum")
            self.mlp = nn.Sequential(
                nn.Linear(embedding_dim + len(features.NUMERIC_FEATURES), hidden_size),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_size, num_classes),
            )

        def forward(self, indices, offsets, weights, numeric, bag_ids=None):
            """``bag_ids`` (each index's row, instead of ``offsets``): the same weighted sum as
            gather + scatter-add, which XLA compiles. ``EmbeddingBag`` has no XLA lowering:
            torch_xla runs it and its backward on the host, with transfers, at every step."""
            if bag_ids is None:
                bag = self.embedding(indices, offsets, per_sample_weights=weights)
            else:
                rows = nn.functional.embedding(indices, self.embedding.weight)
                rows = rows * weights.unsqueeze(1)
                bag = rows.new_zeros(numeric.shape[0], rows.shape[1]).index_add(0, bag_ids, rows)
            return self.mlp(torch.cat([bag, numeric], dim=1))

    return HashedBagClassifier()


def batch_tensors(vectorizer, records: Sequence[dict[str, Any]]):
    """(indices, offsets, weights, numeric) CPU tensors for a batch of records."""
    import torch

    matrix = vectorizer.transform(features.texts(records))
    return (
        torch.from_numpy(matrix.indices.astype(np.int64)),
        torch.from_numpy(matrix.indptr[:-1].astype(np.int64)),
        torch.from_numpy(matrix.data.astype(np.float32)),
        torch.from_numpy(features.numeric_matrix(records)),
    )


def non_finite_tensors(state: dict[str, Any]) -> list[str]:
    """Keys of a state dict whose floating-point tensors hold NaN or ±inf."""
    import torch

    return [
        name
        for name, tensor in state.items()
        if torch.is_tensor(tensor)
        and tensor.is_floating_point()
        and not bool(torch.isfinite(tensor).all())
    ]


class NeuralClassifier:
    def __init__(self, network, preprocessing: dict[str, Any], labels: list[str]):
        self.network = network
        self.preprocessing = preprocessing
        self.vectorizer = hashing_vectorizer(preprocessing)
        self.labels = labels

    def predict_proba(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        import torch

        if not records:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        self.network.eval()
        with torch.inference_mode():
            logits = self.network(*batch_tensors(self.vectorizer, records))
            return torch.softmax(logits.float(), dim=1).numpy()

    def non_finite_weights(self) -> list[str]:
        """Names of the network's tensors holding NaN or ±inf (empty for a usable model)."""
        return non_finite_tensors(self.network.state_dict())

    def save(self, model_dir: Path) -> None:
        import torch

        state = {k: v.detach().cpu() for k, v in self.network.state_dict().items()}
        torch.save(state, model_dir / NEURAL_WEIGHTS)


# ---- model directory -------------------------------------------------------------------------


def save_model(
    model_dir: Path, classifier, algorithm: str, preprocessing: dict, card: dict
) -> None:
    """Write weights, label map, preprocessing and model card into ``model_dir``.

    A model whose weights are not all finite is never written (it would answer NaN, i.e. a null
    confidence, for every record): ValueError, and ``model_dir`` is left as it was.
    """
    bad = classifier.non_finite_weights()
    if bad:
        raise ValueError(
            f"refusing to write a {algorithm} model whose weights are not finite "
            f"({', '.join(bad[:5])}); training diverged"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    classifier.save(model_dir)
    _write_json(model_dir / LABEL_MAP, {"labels": list(classifier.labels)})
    _write_json(model_dir / PREPROCESSING, {"algorithm": algorithm, **preprocessing})
    _write_json(model_dir / MODEL_CARD, card)


def load_model(model_dir: Path) -> Classifier:
    """Load whichever algorithm ``model_dir`` holds."""
    model_dir = Path(model_dir)
    preprocessing_file = model_dir / PREPROCESSING
    if not preprocessing_file.exists():
        raise FileNotFoundError(
            f"{model_dir}: no {PREPROCESSING}; is this a model from the training image?"
        )
    preprocessing = json.loads(preprocessing_file.read_text(encoding="utf-8"))
    labels = json.loads((model_dir / LABEL_MAP).read_text(encoding="utf-8"))["labels"]
    if preprocessing.get("version") != features.PREPROCESSING_VERSION:
        raise ValueError(
            f"{preprocessing_file}: preprocessing version {preprocessing.get('version')} "
            f"is not {features.PREPROCESSING_VERSION}; retrain the model with this image"
        )
    algorithm = preprocessing.get("algorithm")
    if algorithm == "linear":
        import joblib

        # Model artifacts come only from this project's KMS-encrypted model bucket.
        parts = joblib.load(model_dir / LINEAR_WEIGHTS)
        return _usable(LinearClassifier(parts["vectorizer"], parts["model"], labels), model_dir)
    if algorithm == "neural":
        import torch

        network = build_network(
            int(preprocessing["num_buckets"]),
            int(preprocessing["embedding_dim"]),
            int(preprocessing["hidden_size"]),
            len(labels),
            0.0,
        )
        state = torch.load(model_dir / NEURAL_WEIGHTS, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        return _usable(NeuralClassifier(network, preprocessing, labels), model_dir)
    raise ValueError(f"{preprocessing_file}: unknown algorithm {algorithm!r}")


def _usable(classifier, model_dir: Path):
    """``classifier``, unless its weights hold NaN or ±inf: such a model is never served."""
    bad = classifier.non_finite_weights()
    if bad:
        raise ValueError(
            f"{model_dir}: the model's weights are not finite ({', '.join(bad[:5])}); "
            "it cannot answer; retrain it"
        )
    return classifier


def load_card(model_dir: Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / MODEL_CARD).read_text(encoding="utf-8"))


def predictions(
    classifier: Classifier, records: Sequence[dict[str, Any]], top_k: int = 3
) -> list[dict]:
    """One answer per record: ``{"item_id"?, "label", "confidence", "top_k": [...]}``.

    A record whose probabilities are not finite raises :class:`ScoringError` naming it (its
    index in ``records``): an answer never carries a NaN (JSON null) confidence or score.
    """
    if len(records) == 0:
        return []
    probs = classifier.predict_proba(records)
    finite = np.isfinite(probs).all(axis=1)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        raise ScoringError(index, records[index].get("item_id"))
    k = max(1, min(top_k, len(classifier.labels)))
    # Vectorised: the top k per row in one numpy call, converted to Python values in one go, and
    # the answers built by comprehensions (no per-record function frame): half the time of a loop.
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(probs, top, axis=1).astype(np.float64).round(6)
    names = np.asarray(classifier.labels, dtype=object)[top]
    pairs = [
        {"label": n, "score": v}
        for n, v in zip(names.ravel().tolist(), scores.ravel().tolist(), strict=True)
    ]
    tops = [pairs[i : i + k] for i in range(0, len(pairs), k)]
    return [
        {"label": label, "confidence": confidence, "top_k": top_answers}
        if (item_id := record.get("item_id")) is None
        else {"item_id": item_id, "label": label, "confidence": confidence, "top_k": top_answers}
        for record, label, confidence, top_answers in zip(
            records, names[:, 0].tolist(), scores[:, 0].tolist(), tops, strict=True
        )
    ]


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
