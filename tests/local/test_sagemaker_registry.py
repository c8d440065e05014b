"""Model registry (package groups, versioned packages, approval) and tags through boto3."""

import datetime as dt

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


def test_a_group_with_versions_cannot_be_deleted_until_they_are(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-teardown")
    arns = [
        sagemaker.create_model_package(
            ModelPackageGroupName="reg-teardown", InferenceSpecification=INFERENCE
        )["ModelPackageArn"]
        for _ in range(2)
    ]
    with pytest.raises(ClientError) as raised:
        sagemaker.delete_model_package_group(ModelPackageGroupName="reg-teardown")
    error = raised.value.response["Error"]
    assert error["Code"] == "ConflictException"
    assert "still has 2 model package(s)" in error["Message"]
    for arn in arns:
        sagemaker.delete_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_model_package(ModelPackageName=arns[0])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    sagemaker.delete_model_package_group(ModelPackageGroupName="reg-teardown")
    listed = sagemaker.list_model_package_groups(NameContains="reg-teardown")
    assert listed["ModelPackageGroupSummaryList"] == []


def test_deleting_an_unknown_package_names_it(sagemaker, stack):
    arn = f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:model-package/reg-none/1"
    with pytest.raises(ClientError) as raised:
        sagemaker.delete_model_package(ModelPackageName=arn)
    assert arn in raised.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def typed_group(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="reg-typed")
    return [
        sagemaker.create_model_package(
            ModelPackageGroupName="reg-typed", InferenceSpecification=INFERENCE
        )["ModelPackageArn"]
        for _ in range(3)
    ]


def listed_arns(sagemaker, **request) -> list[str]:
    answer = sagemaker.list_model_packages(**request)
    assert_valid_output("ListModelPackages", answer)
    return [p["ModelPackageArn"] for p in answer["ModelPackageSummaryList"]]


def test_model_package_type_selects_versioned_or_unversioned_packages(sagemaker, typed_group):
    # Without a group and a type, SageMaker lists unversioned packages only: there are none.
    assert listed_arns(sagemaker, NameContains="reg-typed") == []
    assert listed_arns(sagemaker, NameContains="reg-typed", ModelPackageType="Unversioned") == []
    for kind in ("Versioned", "Both"):
        assert listed_arns(sagemaker, NameContains="reg-typed", ModelPackageType=kind) == (
            typed_group
        )
    assert listed_arns(sagemaker, ModelPackageGroupName="reg-typed") == typed_group


def test_model_packages_are_listed_oldest_first_unless_asked_otherwise(sagemaker, typed_group):
    assert listed_arns(sagemaker, ModelPackageGroupName="reg-typed") == typed_group
    newest_first = listed_arns(sagemaker, ModelPackageGroupName="reg-typed", SortOrder="Descending")
    assert newest_first == typed_group[::-1]


def test_model_packages_page_with_next_token(sagemaker, typed_group):
    pages = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName="reg-typed", PaginationConfig={"PageSize": 2}
    )
    sizes, arns = [], []
    for answer in pages:
        sizes.append(len(answer["ModelPackageSummaryList"]))
        arns += [p["ModelPackageArn"] for p in answer["ModelPackageSummaryList"]]
    assert sizes == [2, 1]
    assert arns == typed_group


def test_creation_time_bounds_filter_model_packages(sagemaker, typed_group):
    # boto3 sends timestamps in whole seconds: bounds an hour away from the packages' creation.
    created = sagemaker.describe_model_package(ModelPackageName=typed_group[0])["CreationTime"]
    hour = dt.timedelta(hours=1)
    group = {"ModelPackageGroupName": "reg-typed"}
    assert listed_arns(sagemaker, **group, CreationTimeAfter=created - hour) == typed_group
    assert listed_arns(sagemaker, **group, CreationTimeAfter=created + hour) == []
    assert listed_arns(sagemaker, **group, CreationTimeBefore=created - hour) == []
    assert listed_arns(sagemaker, **group, CreationTimeBefore=created + hour) == typed_group


def test_an_invalid_next_token_is_a_validation_exception(sagemaker):
    with pytest.raises(ClientError) as raised:
        sagemaker.list_model_packages(ModelPackageGroupName="reg-typed", NextToken="not-ours")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Invalid pagination token" in error["Message"]
