"""Model registry (package groups, versioned packages, approval) and tags through boto3."""

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import BUCKET, FIXTURE_IMAGE_URI, assert_valid_output

INFERENCE = {
    "Containers": [{"Image": FIXTURE_IMAGE_URI, "ModelDataUrl": f"s3://{BUCKET}/m/model.tar.gz"}],
    "SupportedContentTypes": ["application/jsonlines"],
    "SupportedResponseMIMETypes": ["application/jsonlines"],
}


def test_packages_in_a_group_are_numbered_from_one(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-de")
    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName="reg-de", InferenceSpecification=INFERENCE
        )["ModelPackageArn"]
        for _ in range(2)
    ]
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["1", "2"]
    described = sagemaker.describe_model_package(ModelPackageName=arns[1])
    assert described["ModelPackageVersion"] == 2
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert_valid_output("DescribeModelPackage", described)


def test_approval_status_is_updated_and_filterable(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-fr")
    first = sagemaker.create_model_package(
        ModelPackageGroupName="reg-fr", InferenceSpecification=INFERENCE
    )["ModelPackageArn"]
    sagemaker.create_model_package(ModelPackageGroupName="reg-fr", InferenceSpecification=INFERENCE)
    sagemaker.update_model_package(
        ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="won"
    )
    approved = sagemaker.list_model_packages(
        ModelPackageGroupName="reg-fr", ModelApprovalStatus="Approved"
    )
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [first]
    assert_valid_output("ListModelPackages", approved)
    described = sagemaker.describe_model_package(ModelPackageName=first)
    assert described["ApprovalDescription"] == "won"


def test_a_duplicate_group_is_reported_as_sagemaker_reports_it(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-dup")
    with pytest.raises(ClientError) as raised:
        sagemaker.create_model_package_group(ModelPackageGroupName="reg-dup")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("Model Package Group already exists")


def test_groups_are_listed_and_described(sagemaker):
    sagemaker.create_model_package_group(
        ModelPackageGroupName="reg-listed", ModelPackageGroupDescription="for listing"
    )
    listed = sagemaker.list_model_package_groups(NameContains="reg-listed")
    assert [g["ModelPackageGroupName"] for g in listed["ModelPackageGroupSummaryList"]] == [
        "reg-listed"
    ]
    assert_valid_output("ListModelPackageGroups", listed)
    described = sagemaker.describe_model_package_group(ModelPackageGroupName="reg-listed")
    assert described["ModelPackageGroupDescription"] == "for listing"
    assert_valid_output("DescribeModelPackageGroup", described)


def test_a_package_in_an_unknown_group_is_rejected(sagemaker):
    with pytest.raises(ClientError) as raised:
        sagemaker.create_model_package(
            ModelPackageGroupName="reg-missing", InferenceSpecification=INFERENCE
        )
    assert "reg-missing" in raised.value.response["Error"]["Message"]


def test_tags_are_added_listed_and_deleted(sagemaker):
    arn = sagemaker.create_model_package_group(
        ModelPackageGroupName="reg-tagged", Tags=[{"Key": "country", "Value": "de"}]
    )["ModelPackageGroupArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "mlops"}])
    tags = sagemaker.list_tags(ResourceArn=arn)
    assert {t["Key"]: t["Value"] for t in tags["Tags"]} == {"country": "de", "owner": "mlops"}
    assert_valid_output("ListTags", tags)
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["country"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "mlops"}]


def test_tagging_an_unknown_resource_is_resource_not_found(sagemaker, stack):
    arn = f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model/never"
    with pytest.raises(ClientError) as raised:
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"


def test_a_listed_versioned_package_is_named_by_its_arn_only(sagemaker):
    """As SageMaker lists versioned packages: a client that describes what it lists by the
    summary's ModelPackageName (the Python SDK v3's ModelPackage.get_all) falls back to the ARN."""
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-gb")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="reg-gb", InferenceSpecification=INFERENCE
    )["ModelPackageArn"]
    listed = sagemaker.list_model_packages(ModelPackageGroupName="reg-gb")
    assert_valid_output("ListModelPackages", listed)
    (summary,) = listed["ModelPackageSummaryList"]
    assert summary["ModelPackageArn"] == arn
    assert "ModelPackageName" not in summary
    assert summary["ModelPackageGroupName"] == "reg-gb"
    assert summary["ModelPackageVersion"] == 1
