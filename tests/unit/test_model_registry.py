"""Model Registry calls against moto's SageMaker: register, find the newest pending, approve."""

import boto3
import pytest
from mlops import sagemaker_requests as requests
from mlops.model_registry import (
    ModelRegistryError,
    describe_candidate,
    newest_pending_package,
    register_model_version,
    set_approval,
)
from moto import mock_aws


@pytest.fixture
def sagemaker(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sagemaker", region_name="eu-west-1")


def package_request(settings, model, run, model_name):
    return requests.model_package_request(
        settings,
        model,
        run,
        model_data_url=f"s3://mlops-local-models/{model_name}/model.tar.gz",
        model_name=model_name,
        training_job_name=f"{model_name}-train",
        test_features_uri="s3://mlops-local-models/x/test_features/",
        test_labels_uri="s3://mlops-local-models/x/test_labels/",
        metrics={"validation:macro_f1": 0.9},
    )


def test_registered_version_carries_what_evaluation_needs(sagemaker, settings, models, run):
    arn = register_model_version(sagemaker, package_request(settings, models[0], run, "m-1"))
    candidate = describe_candidate(sagemaker, arn)
    assert candidate["model_name"] == "m-1"
    assert candidate["data_month"] == run.data_month
    assert candidate["test_labels_uri"] == "s3://mlops-local-models/x/test_labels/"
    assert candidate["approval_status"] == "PendingManualApproval"


def test_newest_pending_version_is_found(sagemaker, settings, models, run):
    group = f"{settings.name_prefix}-{models[0].key}"
    register_model_version(sagemaker, package_request(settings, models[0], run, "m-1"))
    newest = register_model_version(sagemaker, package_request(settings, models[0], run, "m-2"))
    assert newest_pending_package(sagemaker, group) == newest


def test_no_pending_version_gives_a_clear_error(sagemaker, settings, models, run):
    group = f"{settings.name_prefix}-{models[0].key}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    with pytest.raises(ModelRegistryError, match=f"{group} has no PendingManualApproval"):
        newest_pending_package(sagemaker, group)


def test_approval_decision_is_written_with_its_reasons(sagemaker, settings, models, run):
    arn = register_model_version(sagemaker, package_request(settings, models[0], run, "m-1"))
    set_approval(sagemaker, arn, approved=False, reasons=["gain below margin"])
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == "gain below margin"
