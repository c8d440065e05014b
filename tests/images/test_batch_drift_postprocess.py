"""``postprocess`` drift: the month's items (predicted labels as classes) and the endpoint's
captured requests against the winner's training-data profile, through the real entrypoint.

Transform answers are written by the test (the inference image's shape): what matters is what
postprocess makes of a steady and of a shifted month, not how a model labelled them."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from ml_common.drift import profile_records
from ml_common.records import FIELD_ORDER

from tests.support.images import run_entrypoint

LABELS = ["DE-1", "DE-2", "DE-3", "DE-4"]


def product(n: int, *, title_words: int = 3, weight: float = 1.0, label: str | None = None):
    record = {
        "item_id": f"item-{n:05d}",
        "title": " ".join(["Cordless drill 18V"] * title_words),
        "description": "Compact drill driver",
        "brand": "Acme",
        "weight_kg": weight + (n % 5) * 0.1,
        "screen_size_in": None,
        "battery": True,
        "power_source": "battery",
    }
    if label:
        record["label"] = label
    return record


def _lines(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def reference():
    """The winner's training data: four classes evenly, short titles, weights around 1 kg."""
    return profile_records(
        [product(n, title_words=1, label=LABELS[n % 4]) for n in range(400)], label_field="label"
    )


def run_month(root, reference, items, predicted, capture=None):
    opt_ml = root / "opt" / "ml"
    inputs = opt_ml / "processing" / "input"
    _lines(inputs / "items" / "part-00000.jsonl", items)
    _lines(
        inputs / "predictions" / "part-00000.jsonl.out",
        [
            {"item_id": item["item_id"], "label": label, "confidence": 0.9, "top_k": []}
            for item, label in zip(items, predicted, strict=True)
        ],
    )
    if reference is not None:
        _lines(inputs / "reference_profile" / "profile.json", [reference])
    if capture is not None:
        _lines(inputs / "capture" / "primary" / "2026" / "10" / "01" / "00" / "c.jsonl", capture)
    result = run_entrypoint(
        "processing", "ml_processing.postprocess", opt_ml, {"REVIEW_THRESHOLD": "0.5"}
    )
    assert result.returncode == 0, result.stderr
    summary_dir = opt_ml / "processing" / "output" / "summary"
    summary = json.loads((summary_dir / "summary.json").read_text())
    drift_file = summary_dir / "drift.json"
    return summary, json.loads(drift_file.read_text()) if drift_file.exists() else None


def test_a_steady_month_barely_moves(tmp_path, reference):
    items = [product(n, title_words=1) for n in range(200)]
    summary, drift = run_month(tmp_path, reference, items, [LABELS[n % 4] for n in range(200)])
    batch = summary["drift"]["batch"]
    assert summary["drift"]["reference"] is True
    assert batch["class_distance"] < 0.05
    assert abs(batch["text_length_shift"]) < 0.05
    assert abs(batch["numeric_shift"]["weight_kg"]) < 0.05
    assert batch["items"] == 200
    assert drift["batch"]["profile"]["label_counts"] == {label: 50 for label in LABELS}


def test_a_shifted_month_is_measured_in_drift_json_and_summary(tmp_path, reference):
    # Titles three times as long, items ten times as heavy, nearly everything predicted DE-1.
    items = [product(n, title_words=3, weight=10.0) for n in range(200)]
    predicted = ["DE-1"] * 190 + ["DE-2"] * 10
    summary, drift = run_month(tmp_path, reference, items, predicted)
    batch = summary["drift"]["batch"]
    assert batch["class_distance"] > 0.4
    assert batch["vanished_classes"] == ["DE-3", "DE-4"]
    assert batch["text_length_shift"] > 1.5
    assert batch["numeric_shift"]["weight_kg"] > 5
    assert drift["batch"]["drift"]["class_distance"] == batch["class_distance"]
    assert drift["batch"]["profile"]["label_counts"] == {"DE-1": 190, "DE-2": 10}
    assert drift["reference"]["n_items"] == 400
    assert summary["rows"] == 200  # the predictions themselves are unchanged by drift


def test_without_a_reference_the_month_is_profiled_but_not_compared(tmp_path):
    items = [product(n) for n in range(20)]
    summary, drift = run_month(tmp_path, None, items, ["DE-1"] * 20)
    assert summary["drift"]["reference"] is False
    assert summary["drift"]["batch"] is None
    assert drift["batch"]["profile"]["n_items"] == 20
    assert drift["batch"]["drift"] is None


def _event(media: str, data: str, encoding: str, answer: str | None = None) -> dict:
    capture = {
        "endpointInput": {
            "observedContentType": media,
            "mode": "INPUT",
            "data": data,
            "encoding": encoding,
        }
    }
    if answer is not None:
        capture["endpointOutput"] = {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": answer,
            "encoding": "JSON",
        }
    return {"captureData": capture, "eventMetadata": {"eventId": "e"}, "eventVersion": "0"}


def _csv_row(record: dict) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if record[name] is None else record[name] for name in FIELD_ORDER])
    return out.getvalue()


def test_captured_requests_in_every_encoding_are_profiled_and_compared(tmp_path, reference):
    heavy = [product(n, title_words=3, weight=10.0) for n in range(4)]
    capture = [
        # application/json, one record, with its answer
        _event(
            "application/json",
            json.dumps(heavy[0]),
            "JSON",
            json.dumps({"item_id": heavy[0]["item_id"], "label": "DE-1", "confidence": 0.9}),
        ),
        # JSON Lines, two records, answered as a JSON list
        _event(
            "application/jsonlines",
            json.dumps(heavy[1]) + "\n" + json.dumps(heavy[2]) + "\n",
            "JSON",
            json.dumps([{"label": "DE-1"}, {"label": "DE-1"}]),
        ),
        # text/csv in the records' field order (the server's CSV), no output captured
        _event("text/csv", _csv_row(heavy[3]), "CSV"),
        # a content type capture keeps as BASE64
        _event(
            "application/x-custom",
            base64.b64encode(json.dumps({"instances": [heavy[0]]}).encode()).decode(),
            "BASE64",
        ),
        # two invocations that cannot be read: skipped and counted, never fatal
        _event("application/json", "{not json", "JSON"),
        {"eventVersion": "0"},
    ]
    items = [product(n, title_words=1) for n in range(40)]
    summary, drift = run_month(
        tmp_path, reference, items, [LABELS[n % 4] for n in range(40)], capture
    )
    captured = drift["capture"]
    assert captured["events"] == 6
    assert captured["records"] == 5
    assert captured["skipped_events"] == 2
    assert captured["profile"]["label_counts"] == {"DE-1": 3}
    assert summary["drift"]["captured_records"] == 5
    assert summary["drift"]["capture"]["text_length_shift"] > 1.5
    assert summary["drift"]["capture"]["numeric_shift"]["weight_kg"] > 5
    assert summary["drift"]["batch"]["text_length_shift"] == pytest.approx(0.0)
    [problem] = summary["drift"]["problems"]
    assert "2 of 6 captured invocations could not be read" in problem
    assert "c.jsonl:5" in problem


def test_an_unreadable_reference_is_reported_not_fatal(tmp_path):
    opt_ml_root = tmp_path
    items = [product(n) for n in range(10)]
    reference_dir = opt_ml_root / "opt" / "ml" / "processing" / "input" / "reference_profile"
    reference_dir.mkdir(parents=True)
    (reference_dir / "profile.json").write_text("{truncated", encoding="utf-8")
    summary, drift = run_month(opt_ml_root, None, items, ["DE-1"] * 10)
    assert summary["rows"] == 10
    assert drift["batch"]["drift"] is None
    [problem] = summary["drift"]["problems"]
    assert problem.startswith("reference_profile profile.json: not valid JSON")
