"""The evaluation report's header and data checks, written on the Airflow side by the decide task
(``steps.decide_evaluation`` → ``write_decision_report``) into the report the evaluate job wrote,
against moto's S3. The report is the image's own (``ml_processing.report.render_report`` is
plain Python: loaded from its file, no ML library needed)."""

from __future__ import annotations

import importlib.util
import json

import boto3
import pytest
from mlops import evaluation_report, steps
from mlops import sagemaker_requests as requests
from mlops.config import get_model
from moto import mock_aws

from tests.unit.conftest import DEFAULT_COUNTRIES, REPO

REGION = "eu-west-1"
RUN = {"run_id": "manual__eval", "data_month": "2026-11", "code_version": "abc"}
BATTERIES = get_model("de-batteries", DEFAULT_COUNTRIES)

_spec = importlib.util.spec_from_file_location(
    "image_report", REPO / "docker" / "processing" / "src" / "ml_processing" / "report.py"
)
image_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(image_report)


def _model_metrics(f1: float) -> dict:
    return {
        "accuracy": f1,
        "macro_f1": f1,
        "per_class": {
            "DE-B-1": {"precision": f1, "recall": f1, "f1": f1, "support": 20},
            "DE-B-2": {"precision": f1, "recall": f1, "f1": f1, "support": 20},
        },
        "confusion_matrix": {"labels": ["DE-B-1", "DE-B-2"], "matrix": [[18, 2], [3, 17]]},
        "counts": {"n_items": 40, "correct": round(40 * f1), "incorrect": 40 - round(40 * f1)},
    }


@pytest.fixture
def s3(monkeypatch, settings):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=settings.model_bucket,
            CreateBucketConfiguration={"LocationConstraint": REGION},
        )
        yield client


def _put(s3, uri: str, text: str) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


def _get(s3, uri: str) -> str:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def evaluated(s3, settings, *, challenger_f1=0.9, champion_f1=0.8, report=True) -> dict:
    """What the evaluate job writes (metrics, per-item rows, its report) and its XCom."""
    request = requests.evaluate_request(
        settings,
        BATTERIES,
        steps._identity(RUN),
        challenger_output_uri="s3://m/challenger/",
        champion_output_uri="s3://m/champion/",
        test_labels_uri="s3://m/labels/",
        golden_challenger_output_uri="s3://m/golden-challenger/",
        golden_champion_output_uri="s3://m/golden-champion/",
        golden_labels_uri="s3://d/de/batteries/golden/v1/labels.jsonl",
    )
    base = requests.processing_outputs(request)["evaluation"]
    metrics = {
        "country": "de",
        "challenger": _model_metrics(challenger_f1),
        "champion": _model_metrics(champion_f1),
        "n_items": 40,
    }
    metrics["golden"] = {
        "challenger": _model_metrics(challenger_f1),
        "champion": _model_metrics(champion_f1),
        "n_items": 40,
    }
    per_item = [
        {
            "item_id": str(n),
            "label": "DE-B-1",
            "challenger_correct": True,
            "champion_correct": n > 9,
        }
        for n in range(40)
    ]
    _put(s3, base + "metrics.json", json.dumps(metrics))
    _put(s3, base + "per_item.jsonl", "".join(json.dumps(row) + "\n" for row in per_item))
    _put(s3, base + "per_item_golden.jsonl", "".join(json.dumps(row) + "\n" for row in per_item))
    if report:
        _put(s3, base + "report.html", image_report.render_report("de", metrics))
    return {"Processing": request}


def challenger(settings, profile_uri: str = "") -> dict:
    return {
        "model_name": "m-challenger",
        "model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/g/7",
        "data_month": "2026-11",
        "test_features_uri": "s3://m/features/",
        "profile_uri": profile_uri,
    }


CHAMPION = {"model_name": "m-champion", "model_package_arn": "arn:c", "data_month": "2026-09"}


def decide(s3, settings, **kwargs):
    champion = kwargs.pop("champion", CHAMPION)
    evaluation = evaluated(s3, settings, **kwargs.pop("evaluation", {}))
    decided = steps.decide_evaluation(
        s3,
        BATTERIES,
        challenger=kwargs.pop("challenger", challenger(settings)),
        champion=champion,
        evaluated=evaluation,
    )
    return decided, _get(s3, decided["report_uri"])


def _region(html: str, begin: str, end: str) -> str:
    assert html.count(begin) == html.count(end) == 1
    return html.split(begin, 1)[1].split(end, 1)[0]


def test_the_markers_are_the_images_own():
    assert (evaluation_report.HEADER_BEGIN, evaluation_report.HEADER_END) == (
        image_report.HEADER_BEGIN,
        image_report.HEADER_END,
    )
    assert (evaluation_report.CHECKS_BEGIN, evaluation_report.CHECKS_END) == (
        image_report.CHECKS_BEGIN,
        image_report.CHECKS_END,
    )


def test_decide_writes_country_scheme_months_decision_reasons_and_p_value_at_the_top(s3, settings):
    decided, html = decide(s3, settings)
    header = _region(html, evaluation_report.HEADER_BEGIN, evaluation_report.HEADER_END)
    body = html.split("<body>", 1)[1].lstrip()
    assert body.startswith(evaluation_report.HEADER_BEGIN)
    assert "Evaluation — DE — scheme batteries" in header
    assert "<th>country</th><td>de</td>" in header
    assert "<th>scheme</th><td>batteries</td>" in header
    assert "<th>challenger data month</th><td>2026-11</td>" in header
    assert "<th>champion data month</th><td>2026-09</td>" in header
    decision = decided["decision"]
    assert decision["promote"] is True
    assert "Automatic decision: <b>promote the challenger</b>" in header
    assert 0 < decision["p_value"] < 0.05
    p_value = evaluation_report.value_html(decision["p_value"])
    assert f"<th>McNemar p-value (test set)</th><td>{p_value}</td>" in header
    for reason in decision["reasons"]:
        assert f"<li>{evaluation_report.escape(reason)}</li>" in header
    assert "Decision pending" not in html
    # The image's numbers and pictures are kept as they were.
    assert html.count("<svg") == 3 and "true label" in html and "Test set" in html


def test_decision_json_lies_beside_metrics_json(s3, settings):
    decided, _ = decide(s3, settings)
    written = json.loads(_get(s3, decided["metrics_uri"].replace("metrics.json", "decision.json")))
    assert written["decision"] == decided["decision"]
    assert written["model_key"] == "de-batteries" and written["scheme"] == "batteries"
    assert written["challenger"]["data_month"] == "2026-11"
    assert written["champion"]["data_month"] == "2026-09"
    assert written["report_uri"] == decided["report_uri"]


def test_a_first_evaluation_says_there_is_no_champion(s3, settings):
    _, html = decide(s3, settings, champion=None)
    header = _region(html, evaluation_report.HEADER_BEGIN, evaluation_report.HEADER_END)
    assert "none (no champion: first evaluation)" in header
    assert "n/a (no champion)" in header


def test_a_kept_champion_says_so(s3, settings):
    _, html = decide(s3, settings, evaluation={"challenger_f1": 0.5, "champion_f1": 0.8})
    assert "keep the champion (challenger not promoted)" in html
    assert "absolute floor" in html


def test_gates_and_drift_come_from_the_challengers_profile(s3, settings):
    profile_uri = f"s3://{settings.model_bucket}/de/batteries/runs/x/prepare/profile/profile.json"
    profile = {
        "n_items": 1234,
        "gates": {"passed": True, "checks": [{"name": "min_rows", "value": 1234, "min": 200}]},
        "drift": {"class_distance": 0.0812, "vanished_classes": ["DE-B-9"], "new_classes": []},
    }
    _put(s3, profile_uri, json.dumps(profile))
    _, html = decide(s3, settings, challenger=challenger(settings, profile_uri))
    checks = _region(html, evaluation_report.CHECKS_BEGIN, evaluation_report.CHECKS_END)
    assert "<h3>Gates</h3>" in checks and "min_rows" in checks
    assert "<h3>Drift against last month</h3>" in checks
    assert "<th>class_distance</th><td>0.0812</td>" in checks
    assert "DE-B-9" in checks
    assert profile_uri in checks
    # After the header and the test set, before the charts.
    assert html.index("Test set") < html.index("<h3>Gates</h3>") < html.index("<svg")


def test_a_missing_profile_is_said_not_fatal(s3, settings):
    missing = f"s3://{settings.model_bucket}/nowhere/profile.json"
    _, html = decide(s3, settings, challenger=challenger(settings, missing))
    assert f"Not available: {missing} does not exist." in html


def test_an_unreadable_profile_is_said_not_fatal(s3, settings):
    broken = f"s3://{settings.model_bucket}/p/broken.json"
    _put(s3, broken, "{truncated")
    _, html = decide(s3, settings, challenger=challenger(settings, broken))
    assert f"Not available: {broken} is not valid JSON" in html
    assert "Automatic decision" in html


def test_reasons_and_profile_values_are_escaped(s3, settings):
    profile_uri = f"s3://{settings.model_bucket}/p/profile.json"
    _put(s3, profile_uri, json.dumps({"n_items": 1, "drift": {"<script>x</script>": "<b>"}}))
    _, html = decide(s3, settings, challenger=challenger(settings, profile_uri))
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_a_retried_decide_rewrites_the_same_regions(s3, settings):
    evaluation = evaluated(s3, settings)
    for _ in range(2):
        decided = steps.decide_evaluation(
            s3, BATTERIES, challenger=challenger(settings), champion=CHAMPION, evaluated=evaluation
        )
    html = _get(s3, decided["report_uri"])
    assert html.count(evaluation_report.HEADER_BEGIN) == 1
    assert html.count("Automatic decision") == 1
    assert html.count(evaluation_report.CHECKS_BEGIN) == 1


def test_without_a_report_from_the_job_the_decision_still_gets_one(s3, settings):
    decided, html = decide(s3, settings, evaluation={"report": False})
    assert html.startswith("<!doctype html>")
    assert "Automatic decision" in html and "wrote no report.html" in html


def test_a_report_without_markers_gets_the_header_after_body_and_checks_before_its_end():
    old = "<!doctype html><html><body class='x'><p>numbers</p></body></html>"
    filled = evaluation_report.render(old, "<p>HEADER</p>", "<p>CHECKS</p>")
    assert filled.index("<body class='x'>") < filled.index("HEADER") < filled.index("numbers")
    assert filled.index("numbers") < filled.index("CHECKS") < filled.index("</body>")


def test_the_header_lists_decision_fields_it_does_not_know(s3, settings):
    # e.g. what the golden set adds to the decision: shown, not dropped.
    header = evaluation_report.header_html(
        country="de",
        scheme=None,
        challenger={"data_month": "2026-11"},
        champion=None,
        decision={"promote": False, "reasons": ["r"], "golden": {"p_value": 0.0123}},
    )
    assert "<th>golden</th>" in header and "0.0123" in header
    assert "default scheme" in header
