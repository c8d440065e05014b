"""End to end: prepare → train (both algorithms) → serve → evaluate → postprocess."""

from __future__ import annotations

import json

import pytest

from tests.support.images import copy_into, run_entrypoint, stage_evaluation, transform


@pytest.fixture(scope="module")
def evaluation(workspace, prepared_1, month_1, linear_server, neural_server):
    """Neural as challenger, linear as champion, on the prepared held-out test set (and the
    code table's golden set)."""
    opt_ml = workspace / "evaluate" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, neural_server, linear_server)
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    return opt_ml / "processing" / "output" / "evaluation"


def test_both_algorithms_reach_090_macro_f1_on_the_held_out_demo_test_set(evaluation):
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["challenger"]["macro_f1"] >= 0.90, "neural"
    assert metrics["champion"]["macro_f1"] >= 0.90, "linear"


def test_metrics_json_has_the_documented_shape(evaluation, prepared_1):
    metrics = json.loads((evaluation / "metrics.json").read_text())
    n_test = sum(1 for _ in (prepared_1 / "test_labels" / "labels.jsonl").open())
    assert metrics["n_items"] == n_test
    for name in ("challenger", "champion"):
        model = metrics[name]
        assert set(model) >= {"accuracy", "macro_f1", "per_class", "confusion_matrix", "counts"}
        matrix = model["confusion_matrix"]
        assert len(matrix["matrix"]) == len(matrix["labels"])
        assert sum(map(sum, matrix["matrix"])) == n_test
        assert sum(c["support"] for c in model["per_class"].values()) == n_test
        assert set(model["per_class"]["DE-ELG-1"]) == {"precision", "recall", "f1", "support"}
        assert model["counts"]["correct"] == round(model["accuracy"] * n_test)


def test_per_item_rows_pair_challenger_and_champion_correctness(evaluation):
    metrics = json.loads((evaluation / "metrics.json").read_text())
    rows = [json.loads(line) for line in (evaluation / "per_item.jsonl").open()]
    assert len(rows) == metrics["n_items"]
    assert {"item_id", "label", "challenger_correct", "champion_correct"} <= set(rows[0])
    assert sum(r["challenger_correct"] for r in rows) == metrics["challenger"]["counts"]["correct"]
    assert sum(r["champion_correct"] for r in rows) == metrics["champion"]["counts"]["correct"]


def test_report_is_one_self_contained_html_file_with_plots(evaluation):
    html = (evaluation / "report.html").read_text()
    assert html.startswith("<!doctype html>")
    assert html.count("<svg") == 3  # per-class F1 bars + one confusion matrix per model
    assert "Confusion matrix — challenger" in html and "Confusion matrix — champion" in html
    for external in ("src=", "href=", "<script", "@import"):
        assert external not in html


def test_evaluate_without_champion_writes_null_champion(
    workspace, prepared_1, month_1, linear_server
):
    opt_ml = workspace / "evaluate-alone" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, linear_server)
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    evaluation = opt_ml / "processing" / "output" / "evaluation"
    assert json.loads((evaluation / "metrics.json").read_text())["champion"] is None
    assert json.loads((evaluation / "per_item.jsonl").open().readline())["champion_correct"] is None


def test_evaluate_names_the_missing_items_when_predictions_are_incomplete(
    workspace, prepared_1, month_1, linear_server
):
    opt_ml = workspace / "evaluate-short" / "opt" / "ml"
    stage_evaluation(opt_ml, prepared_1, month_1.golden, linear_server)
    answers = opt_ml / "processing" / "input" / "challenger" / "features.jsonl.out"
    answers.write_text("".join(answers.read_text().splitlines(keepends=True)[:-5]))
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode != 0
    message = (opt_ml / "output" / "message").read_text()
    assert "challenger predictions miss 5 of" in message
    assert not (opt_ml / "processing" / "output" / "evaluation").exists()


@pytest.fixture(scope="module")
def postprocessed(workspace, month_1, linear_server):
    opt_ml = workspace / "postprocess" / "opt" / "ml"
    inputs = opt_ml / "processing" / "input"
    copy_into(month_1.unlabeled, inputs / "items")
    transform(linear_server, month_1.unlabeled, inputs / "predictions")
    result = run_entrypoint(
        "processing", "ml_processing.postprocess", opt_ml, {"REVIEW_THRESHOLD": "0.9"}
    )
    assert result.returncode == 0, result.stderr
    return opt_ml / "processing" / "output"


def test_postprocess_partitions_every_item_by_label(postprocessed, month_1):
    item_ids = {
        json.loads(line)["item_id"] for line in (month_1.unlabeled / "part-00000.jsonl").open()
    }
    rows = {}
    for part in (postprocessed / "predictions").glob("label=*/part-00000.jsonl"):
        label = part.parent.name.removeprefix("label=")
        for line in part.open():
            row = json.loads(line)
            assert row["label"] == label
            rows[row["item_id"]] = row
    assert set(rows) == item_ids


def test_postprocess_flags_items_below_the_review_threshold(postprocessed):
    rows = [
        json.loads(line)
        for part in (postprocessed / "predictions").glob("*/*.jsonl")
        for line in part.open()
    ]
    assert all(r["needs_review"] == (r["confidence"] < 0.9) for r in rows)
    summary = json.loads((postprocessed / "summary" / "summary.json").read_text())
    assert summary["rows"] == len(rows)
    assert summary["needs_review"] == sum(r["needs_review"] for r in rows)
    assert summary["review_threshold"] == 0.9


def test_postprocess_joins_answers_without_item_id_by_position(workspace, month_1, linear_server):
    opt_ml = workspace / "postprocess-positional" / "opt" / "ml"
    inputs = opt_ml / "processing" / "input"
    copy_into(month_1.unlabeled, inputs / "items")
    out = transform(linear_server, month_1.unlabeled, inputs / "predictions")
    answers = out / "part-00000.jsonl.out"
    stripped = [json.loads(line) for line in answers.open()]
    expected = {a.pop("item_id"): a["label"] for a in stripped}
    answers.write_text("".join(json.dumps(a) + "\n" for a in stripped))
    result = run_entrypoint(
        "processing", "ml_processing.postprocess", opt_ml, {"REVIEW_THRESHOLD": "0.5"}
    )
    assert result.returncode == 0, result.stderr
    rows = [
        json.loads(line)
        for part in (opt_ml / "processing" / "output" / "predictions").glob("*/*.jsonl")
        for line in part.open()
    ]
    assert {r["item_id"]: r["label"] for r in rows} == expected
