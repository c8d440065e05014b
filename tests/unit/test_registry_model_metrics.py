"""A registered version carries its training data's profile as ModelMetrics (botocore's shape,
kept by moto's registry); its evaluation's URIs are attached as metadata, keeping the rest."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from mlops import sagemaker_requests as requests
from mlops import steps
from mlops.config import get_model
from mlops.model_registry import ModelRegistryError, attach_evaluation
from moto import mock_aws

from tests.unit.conftest import DEFAULT_COUNTRIES

REGION = "eu-west-1"
GB = get_model("gb", DEFAULT_COUNTRIES)
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


@pytest.fixture
def sagemaker(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def register(sagemaker, settings):
    plan = steps.plan_training(
        settings, GB, run_id="manual__r", data_month="2026-10", dynamodb=None
    )
    training = {
        "TrainingJobName": "t",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{settings.model_bucket}/m/model.tar.gz"},
        "FinalMetricDataList": [{"MetricName": "validation:macro_f1", "Value": 0.9}],
    }
    outcome = steps.register_challenger(
        sagemaker,
        settings,
        GB,
        plan["run"],
        {"Processing": plan["prepare_request"]},
        {"Training": training},
        {"Model": {"ModelName": "m-gb"}},
    )
    profile = requests.processing_outputs(plan["prepare_request"])["profile"] + "profile.json"
    return outcome.value["model_package_arn"], profile


def test_the_registration_request_carries_the_profile_as_model_metrics(settings, run):
    request = requests.model_package_request(
        settings,
        GB,
        run,
        model_data_url="s3://b/model.tar.gz",
        model_name="m",
        training_job_name="t",
        test_features_uri="s3://b/f/",
        test_labels_uri="s3://b/l/",
        metrics={"validation:macro_f1": 0.9},
        profile_uri="s3://b/prepare/profile/profile.json",
    )
    report = ParamValidator().validate(
        request, SAGEMAKER.operation_model("CreateModelPackage").input_shape
    )
    assert not report.has_errors(), report.generate_report()
    assert request["ModelMetrics"]["ModelDataQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": "s3://b/prepare/profile/profile.json",
    }


def test_a_registered_version_has_model_metrics(sagemaker, settings):
    arn, profile = register(sagemaker, settings)
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelMetrics"]["ModelDataQuality"]["Statistics"]["S3Uri"] == profile


def test_attaching_an_evaluation_keeps_the_versions_metadata(sagemaker, settings):
    arn, _ = register(sagemaker, settings)
    before = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    properties = steps.evaluation_properties(
        {"report_uri": "s3://m/gb/runs/x/evaluation/report/report.html"}
    )
    attach_evaluation(sagemaker, arn, properties)
    after = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"]
    assert after == before | {
        "evaluation_report_uri": "s3://m/gb/runs/x/evaluation/report/report.html",
        "evaluation_metrics_uri": "s3://m/gb/runs/x/evaluation/report/metrics.json",
        "evaluation_decision_uri": "s3://m/gb/runs/x/evaluation/report/decision.json",
    }


def test_a_uri_longer_than_the_registry_keeps_is_refused_by_name(sagemaker, settings):
    arn, _ = register(sagemaker, settings)
    with pytest.raises(ModelRegistryError, match=r"\['evaluation_report_uri'\] exceed 256"):
        attach_evaluation(sagemaker, arn, {"evaluation_report_uri": "s3://b/" + "x" * 260})
