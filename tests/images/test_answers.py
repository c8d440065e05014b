"""ml_common.model.predictions builds its answers by comprehensions (the serving hot path): the
answers are exactly those of the record-by-record definition below, key order included."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from ml_common.model import ScoringError, predictions


def reference(labels: list[str], probs: np.ndarray, records: list[dict], top_k: int) -> list:
    """One answer per record, record by record (the definition)."""
    k = max(1, min(top_k, len(labels)))
    answers = []
    for record, row in zip(records, probs, strict=True):
        order = sorted(range(len(labels)), key=lambda i: (-row[i], i))[:k]
        top = [{"label": labels[i], "score": round(float(row[i]), 6)} for i in order]
        answer = {"label": top[0]["label"], "confidence": top[0]["score"], "top_k": top}
        if record.get("item_id") is not None:
            answer = {"item_id": record["item_id"], **answer}
        answers.append(answer)
    return answers


class Fixed:
    """A classifier whose probabilities are given: the test is about the answers, not a model."""

    def __init__(self, labels: list[str], probs: np.ndarray):
        self.labels, self.probs = labels, probs

    def predict_proba(self, records):
        return self.probs


ITEM_IDS = ["de-1", "", 0, "ünï☃", None, "x" * 300]


@pytest.mark.parametrize("top_k", [1, 2, 3, 7, 50])
@pytest.mark.parametrize("n_labels", [1, 2, 7])
def test_answers_match_the_record_by_record_definition(top_k, n_labels):
    rng = np.random.default_rng(top_k * 10 + n_labels)
    labels = [f"L{i}-ß" for i in range(n_labels)]
    probs = rng.dirichlet(np.ones(n_labels), size=60).astype(np.float32)
    probs[::7] = np.float32(1 / n_labels)  # ties: the lower label index first
    records = [{"item_id": ITEM_IDS[i % len(ITEM_IDS)]} for i in range(60)]
    records[5] = {}  # no item_id at all
    answers = predictions(Fixed(labels, probs), records, top_k)
    expected = reference(labels, probs, records, top_k)
    # Bytes, so that the key order and each float's type and value are compared as well.
    assert [orjson.dumps(a) for a in answers] == [orjson.dumps(e) for e in expected]


def test_no_records_no_answers_and_a_non_finite_row_is_named():
    labels = ["A", "B"]
    assert predictions(Fixed(labels, np.zeros((0, 2), np.float32)), []) == []
    probs = np.array([[0.5, 0.5], [np.nan, 0.5]], dtype=np.float32)
    with pytest.raises(ScoringError) as caught:
        predictions(Fixed(labels, probs), [{"item_id": "a"}, {"item_id": "b"}])
    assert (caught.value.index, caught.value.item_id) == (1, "b")
