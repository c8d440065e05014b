"""An evaluation on the local stack, end to end through the real ``evaluate`` job code and the
real steps: the report the job wrote gets the decision header on the Airflow side, and the
registry version keeps its ModelMetrics (the training-data profile, at registration) and its
evaluation's report and metrics (CustomerMetadataProperties, through UpdateModelPackage)."""

from __future__ import annotations

import json

from tests.local.test_champion_month import evaluate_month, project  # noqa: F401 - a fixture
from tests.support.local_stack import assert_valid_output, read_text


def test_the_evaluated_version_carries_its_profile_report_and_metrics(project):  # noqa: F811
    month = evaluate_month(project, "report-registry", set(), set(range(0, 90, 3)))
    sagemaker, s3 = project["sagemaker"], project["s3"]
    outcome = month["outcome"]
    assert outcome.value["outcome"] == "promoted", outcome.metrics["reasons"]

    described = sagemaker.describe_model_package(
        ModelPackageName=month["challenger"]["model_package_arn"]
    )
    assert_valid_output("DescribeModelPackage", described)
    statistics = described["ModelMetrics"]["ModelDataQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"].endswith("/prepare/profile/profile.json")

    metadata = described["CustomerMetadataProperties"]
    assert metadata["evaluation_report_uri"] == outcome.value["report_uri"]
    assert metadata["evaluation_report_uri"] == outcome.metrics["report_uri"]
    assert json.loads(read_text(s3, metadata["evaluation_metrics_uri"])) == month["written"]
    decision = json.loads(read_text(s3, metadata["evaluation_decision_uri"]))
    assert decision["decision"]["promote"] is True
    assert metadata["data_month"] == "2026-10"  # the registration's metadata is kept

    html = read_text(s3, metadata["evaluation_report_uri"])
    header = html.split("<!-- mlops:header:begin -->", 1)[1].split("<!-- mlops:header:end -->")[0]
    assert "Evaluation — GB — default scheme" in header
    assert "<th>challenger data month</th><td>2026-10</td>" in header
    assert "<th>champion data month</th><td>2026-09</td>" in header
    assert "Automatic decision: <b>promote the challenger</b>" in header
    assert "McNemar p-value (test set)" in header and "McNemar one-sided p=" in header
    assert "true label" in html and "predicted label" in html
