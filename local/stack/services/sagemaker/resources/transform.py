"""Batch transform jobs: CreateTransformJob, DescribeTransformJob, ListTransformJobs,
StopTransformJob."""

from __future__ import annotations

from typing import Any

from ..exceptions import ResourceInUse
from ..runners.transform import TransformRunner
from .base import Shared, now, without
from .job import JobFamily, JobResource
from .model import Models


class TransformJob(JobResource):
    NAME_KEY = "TransformJobName"
    ARN_KEY = "TransformJobArn"
    STATUS_KEY = "TransformJobStatus"
    START_KEY = "TransformStartTime"
    END_KEY = "TransformEndTime"
    SUMMARY_KEYS = (
        "TransformJobName",
        "TransformJobArn",
        "CreationTime",
        "TransformEndTime",
        "LastModifiedTime",
        "TransformJobStatus",
        "FailureReason",
    )
    DESCRIBE_HIDES = ("LastModifiedTime",)  # in TransformJobSummary, not DescribeTransformJob


class TransformJobs(JobFamily[TransformJob]):
    """Transform jobs run the model as it was when the job was created (from ``models``)."""

    KIND = "transform"
    ARN_RESOURCE = "transform-job"
    RESULT_KEY = "TransformJobSummaries"
    LIST_ORDER = "Descending"
    OPERATIONS = (
        "create_transform_job",
        "describe_transform_job",
        "list_transform_jobs",
        "stop_transform_job",
    )

    def __init__(self, shared: Shared, models: Models):
        super().__init__(shared)
        self.models = models

    def create_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TransformJobName"]
        arn = self.region.arn(self.ARN_RESOURCE, name)
        with self.lock:
            if name in self.jobs:  # SageMaker names a taken name before a missing model
                raise ResourceInUse(self.DUPLICATE.format(arn=arn))
            model = self.models.snapshot(request["ModelName"])
            created = now()
            job = TransformJob(
                self.lock,
                {
                    **without(request, "Tags"),
                    "TransformJobArn": arn,
                    "TransformJobStatus": "InProgress",
                    "CreationTime": created,
                    "LastModifiedTime": created,
                },
            )
            self.add(job, request, TransformRunner(self.context, job, model))
        return {"TransformJobArn": arn}

    def describe_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.describe(request["TransformJobName"])

    def list_transform_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.list(request)

    def stop_transform_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.stop(request["TransformJobName"])
