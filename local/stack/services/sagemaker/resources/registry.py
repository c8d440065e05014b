"""The model registry: model package groups (Create, Describe, List, Delete) and their versioned
model packages (Create, Describe, Update, List, Delete)."""

from __future__ import annotations

import threading
from typing import Any

from ..exceptions import Conflict, ValidationError
from .base import Family, Resource, Shared, Store, now, without
from .listing import list_answer

ASCENDING = {"sort_by": "CreationTime", "order": "Ascending"}  # SageMaker's documented default


class ModelPackageGroup(Resource):
    """A group; it numbers its packages' versions from 1."""

    NAME_KEY = "ModelPackageGroupName"
    ARN_KEY = "ModelPackageGroupArn"
    SUMMARY_KEYS = (
        "ModelPackageGroupName",
        "ModelPackageGroupArn",
        "ModelPackageGroupDescription",
        "CreationTime",
        "ModelPackageGroupStatus",
    )

    def __init__(self, lock: threading.RLock, description: dict[str, Any]):
        super().__init__(lock, description)
        self.next_version = 1

    def take_version(self) -> int:
        with self.lock:
            version = self.next_version
            self.next_version += 1
            return version


class ModelPackage(Resource):
    """One version of a group (kept by ARN: every version has the group's name)."""

    NAME_KEY = "ModelPackageName"
    ARN_KEY = "ModelPackageArn"
    STATUS_KEY = "ModelPackageStatus"
    # No ModelPackageName: SageMaker's summaries of versioned packages carry only the ARN (the
    # Python SDK describes a listed package by its name when one is there, by its ARN otherwise).
    SUMMARY_KEYS = (
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    )
    UPDATABLE = ("ModelApprovalStatus", "ApprovalDescription", "ModelCardStatus")

    @property
    def group_name(self) -> str:
        return str(self.description["ModelPackageGroupName"])

    @property
    def approval(self) -> str:
        return str(self.description["ModelApprovalStatus"])

    def update(self, request: dict[str, Any]) -> None:
        """UpdateModelPackage's fields: approval, card status, customer metadata."""
        package = self.description
        with self.lock:
            for key in self.UPDATABLE:
                if key in request:
                    package[key] = request[key]
            if request.get("CustomerMetadataProperties"):
                package.setdefault("CustomerMetadataProperties", {}).update(
                    request["CustomerMetadataProperties"]
                )
            for key in request.get("CustomerMetadataPropertiesToRemove") or []:
                package.get("CustomerMetadataProperties", {}).pop(key, None)
            package["LastModifiedTime"] = now()


def group_name(name_or_arn: str) -> str:
    """A group's name, given its name or ARN."""
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


class ModelRegistry(Family):
    OPERATIONS = (
        "create_model_package_group",
        "describe_model_package_group",
        "list_model_package_groups",
        "create_model_package",
        "describe_model_package",
        "update_model_package",
        "list_model_packages",
        "delete_model_package",
        "delete_model_package_group",
    )

    def __init__(self, shared: Shared):
        super().__init__(shared)
        self.groups: Store[ModelPackageGroup] = Store(
            self.lock, lambda name: ValidationError(f"ModelPackageGroup {name} does not exist.")
        )
        self.packages: dict[str, ModelPackage] = {}  # by ARN

    # ---- groups ------------------------------------------------------------------------------
    def _group(self, name_or_arn: str) -> ModelPackageGroup:
        group = self.groups.find(group_name(name_or_arn))
        if group is None:
            raise ValidationError(f"ModelPackageGroup {name_or_arn} does not exist.")
        return group

    def create_model_package_group(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ModelPackageGroupName"]
        arn = self.region.arn("model-package-group", name)
        group = ModelPackageGroup(
            self.lock,
            {
                "ModelPackageGroupName": name,
                "ModelPackageGroupArn": arn,
                "ModelPackageGroupDescription": request.get("ModelPackageGroupDescription"),
                "CreationTime": now(),
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
            },
        )
        with self.lock:
            self.groups.add(
                group, lambda: ValidationError(f"Model Package Group already exists: {arn}")
            )
            self.tags.tag(arn, request.get("Tags"))
        return {"ModelPackageGroupArn": arn}

    def describe_model_package_group(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._group(request["ModelPackageGroupName"]).describe()

    def list_model_package_groups(self, request: dict[str, Any]) -> dict[str, Any]:
        # Groups shared from other accounts (CrossAccount) do not exist locally.
        shared = request.get("CrossAccountFilterOption") == "CrossAccount"
        return list_answer(
            [] if shared else self.groups, request, "ModelPackageGroupSummaryList", **ASCENDING
        )

    def delete_model_package_group(self, request: dict[str, Any]) -> dict[str, Any]:
        """ConflictException while the group has versions (SageMaker deletes empty groups)."""
        with self.lock:
            group = self._group(request["ModelPackageGroupName"])
            versions = [p for p in self.packages.values() if p.group_name == group.name]
            if versions:
                raise Conflict(
                    f"Model Package Group {group.name} still has {len(versions)} model "
                    "package(s): delete them (DeleteModelPackage) before the group."
                )
            self.groups.remove(group.name)
            self.tags.forget(group.arn)
        return {}

    # ---- packages ----------------------------------------------------------------------------
    def _package(self, arn: str) -> ModelPackage:
        with self.lock:
            package = self.packages.get(arn.lower() if arn.startswith("arn:") else arn)
        if package is None:
            raise ValidationError(f"ModelPackage {arn} does not exist.")
        return package

    def create_model_package(self, request: dict[str, Any]) -> dict[str, Any]:
        name_or_arn = request.get("ModelPackageGroupName")
        if not name_or_arn:
            raise ValidationError(
                "CreateModelPackage: only versioned packages (ModelPackageGroupName) are "
                "supported by the local stack"
            )
        with self.lock:
            group = self._group(name_or_arn)
            version = group.take_version()
            name = group.name
            arn = self.region.arn("model-package", f"{name}/{version}")
            created = now()
            self.packages[arn] = ModelPackage(
                self.lock,
                {
                    **without(request, "Tags", "ClientToken"),
                    "ModelPackageGroupName": name,
                    "ModelPackageName": name,
                    "ModelPackageVersion": version,
                    "ModelPackageArn": arn,
                    "CreationTime": created,
                    "LastModifiedTime": created,
                    "ModelPackageStatus": "Completed",
                    "ModelPackageStatusDetails": {
                        "ValidationStatuses": [],
                        "ImageScanStatuses": [],
                    },
                    "ModelApprovalStatus": request.get(
                        "ModelApprovalStatus", "PendingManualApproval"
                    ),
                },
            )
            self.tags.tag(arn, request.get("Tags"))
        return {"ModelPackageArn": arn}

    def describe_model_package(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._package(request["ModelPackageName"]).describe()

    def update_model_package(self, request: dict[str, Any]) -> dict[str, Any]:
        package = self._package(request["ModelPackageArn"])
        package.update(request)
        return {"ModelPackageArn": package.arn}

    def delete_model_package(self, request: dict[str, Any]) -> dict[str, Any]:
        package = self._package(request["ModelPackageName"])
        with self.lock:
            self.packages.pop(package.arn, None)
            self.tags.forget(package.arn)
        return {}

    def list_model_packages(self, request: dict[str, Any]) -> dict[str, Any]:
        """ModelPackageType: Versioned, Unversioned or Both; without it, a group's versions when
        ModelPackageGroupName is given, else only unversioned packages (which the stack never
        holds), as SageMaker documents."""
        group = request.get("ModelPackageGroupName")
        approval = request.get("ModelApprovalStatus")
        kind = request.get("ModelPackageType") or ("Versioned" if group else "Unversioned")
        with self.lock:
            packages = list(self.packages.values()) if kind != "Unversioned" else []
        selected = [
            p
            for p in packages
            if (group is None or p.group_name == group_name(group))
            and (not approval or p.approval == approval)
        ]
        return list_answer(selected, request, "ModelPackageSummaryList", **ASCENDING)

    def owns(self, arn: str) -> bool:
        with self.lock:
            return arn in self.packages or self.groups.holds(arn)
