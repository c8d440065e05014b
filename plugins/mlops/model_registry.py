"""SageMaker Model Registry calls the DAG tasks make (a boto3 ``sagemaker`` client passed in).

``register_model_version`` replaces SageMakerRegisterModelVersionOperator: that operator's
``extras`` (CustomerMetadataProperties, Tags, content types, ClientToken) is not a templated field,
so it cannot take a request built at run time from XCom.
"""

from __future__ import annotations

from typing import Any

PENDING = "PendingManualApproval"
APPROVED = "Approved"


class ModelRegistryError(RuntimeError):
    """A model package is missing, in the wrong state, or lacks the metadata evaluation needs."""


def ensure_group(client: Any, group_name: str, description: str) -> None:
    """Create the model package group unless it exists."""
    try:
        client.describe_model_package_group(ModelPackageGroupName=group_name)
    except client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise
        client.create_model_package_group(
            ModelPackageGroupName=group_name, ModelPackageGroupDescription=description
        )


def register_model_version(client: Any, request: dict[str, Any]) -> str:
    """Create the package group if needed, then the version; returns the version's ARN."""
    group = request["ModelPackageGroupName"]
    metadata = request["CustomerMetadataProperties"]
    owner = " ".join(metadata[key] for key in ("country", "scheme") if key in metadata)
    ensure_group(client, group, f"models of {owner}")
    return str(client.create_model_package(**request)["ModelPackageArn"])


def newest_pending_package(client: Any, group_name: str) -> str:
    """The ARN of the group's newest PendingManualApproval version."""
    response = client.list_model_packages(
        ModelPackageGroupName=group_name,
        ModelApprovalStatus=PENDING,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    packages = response.get("ModelPackageSummaryList") or []
    if not packages:
        raise ModelRegistryError(
            f"model package group {group_name} has no {PENDING} version to evaluate; "
            "run train first or pass model_package_arn"
        )
    return str(packages[0]["ModelPackageArn"])


REQUIRED_METADATA = ("model_name", "data_month", "test_features_uri", "test_labels_uri")


def describe_candidate(client: Any, package_arn: str) -> dict[str, Any]:
    """What evaluation and deployment need from a package: its metadata plus ARN and status."""
    package = client.describe_model_package(ModelPackageName=package_arn)
    metadata = dict(package.get("CustomerMetadataProperties") or {})
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ModelRegistryError(
            f"model package {package_arn} lacks CustomerMetadataProperties {missing} "
            "(was it registered by a train DAG?)"
        )
    containers = package["InferenceSpecification"]["Containers"]
    return {
        **metadata,
        "model_package_arn": package_arn,
        "approval_status": package["ModelApprovalStatus"],
        "image": containers[0]["Image"],
        "image_digest": containers[0].get("ImageDigest", ""),
        "model_data_url": containers[0].get("ModelDataUrl", ""),
    }


def approval_status(client: Any, package_arn: str) -> str:
    """The version's ModelApprovalStatus: Approved, Rejected or PendingManualApproval."""
    package = client.describe_model_package(ModelPackageName=package_arn)
    return str(package["ModelApprovalStatus"])


def set_approval(client: Any, package_arn: str, approved: bool, reasons: list[str]) -> None:
    """Approve or reject a version, with the decision's reasons as its approval description."""
    client.update_model_package(
        ModelPackageArn=package_arn,
        ModelApprovalStatus=APPROVED if approved else "Rejected",
        ApprovalDescription="; ".join(reasons)[:1024],
    )


def version_for_month(
    client: Any, group_name: str, data_month: str, newest: int = 24
) -> str | None:
    """The ARN of a version of the group trained on ``data_month`` (any approval status), among
    its ``newest`` versions; None if there is none (or the group does not exist yet)."""
    try:
        response = client.list_model_packages(
            ModelPackageGroupName=group_name,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=newest,
        )
    except client.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            return None
        raise
    for summary in response.get("ModelPackageSummaryList") or []:
        arn = str(summary["ModelPackageArn"])
        package = client.describe_model_package(ModelPackageName=arn)
        if (package.get("CustomerMetadataProperties") or {}).get("data_month") == data_month:
            return arn
    return None


CUSTOMER_METADATA_VALUE_MAX = 256


def attach_evaluation(client: Any, package_arn: str, properties: dict[str, str]) -> None:
    """Add ``properties`` (the evaluation's report and metrics URIs) to a version's
    CustomerMetadataProperties, keeping the ones it has.

    ModelMetrics cannot be changed after CreateModelPackage, so what an evaluation produced is
    attached as metadata. The whole merged map is sent: SageMaker merges the keys it is given,
    and a backend that replaces the map (moto) keeps them all too.
    """
    too_long = {k: v for k, v in properties.items() if len(v) > CUSTOMER_METADATA_VALUE_MAX}
    if too_long:
        raise ModelRegistryError(
            f"model package {package_arn}: CustomerMetadataProperties "
            f"{sorted(too_long)} exceed {CUSTOMER_METADATA_VALUE_MAX} characters"
        )
    package = client.describe_model_package(ModelPackageName=package_arn)
    merged = dict(package.get("CustomerMetadataProperties") or {}) | properties
    client.update_model_package(ModelPackageArn=package_arn, CustomerMetadataProperties=merged)
