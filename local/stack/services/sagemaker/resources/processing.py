"""Processing jobs: CreateProcessingJob, DescribeProcessingJob, ListProcessingJobs,
StopProcessingJob."""

from __future__ import annotations

from typing import Any

from ..runners.processing import ProcessingRunner
from .base import now, without
from .job import JobFamily, JobResource


class ProcessingJob(JobResource):
    NAME_KEY = "ProcessingJobName"
    ARN_KEY = "ProcessingJobArn"
    STATUS_KEY = "ProcessingJobStatus"
    START_KEY = "ProcessingStartTime"
    END_KEY = "ProcessingEndTime"
    SUMMARY_KEYS = (
        "ProcessingJobName",
        "ProcessingJobArn",
        "CreationTime",
        "ProcessingEndTime",
        "LastModifiedTime",
        "ProcessingJobStatus",
        "FailureReason",
        "ExitMessage",
    )


class ProcessingJobs(JobFamily[ProcessingJob]):
    KIND = "processing"
    ARN_RESOURCE = "processing-job"
    RESULT_KEY = "ProcessingJobSummaries"
    OPERATIONS = (
        "create_processing_job",
        "describe_processing_job",
        "list_processing_jobs",
        "stop_processing_job",
        "delete_processing_job",
    )

    def create_processing_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ProcessingJobName"]
        arn = self.region.arn(self.ARN_RESOURCE, name)
        created = now()
        job = ProcessingJob(
            self.lock,
            {
                **without(request, "Tags"),
                "ProcessingJobArn": arn,
                "ProcessingJobStatus": "InProgress",
                "CreationTime": created,
                "LastModifiedTime": created,
            },
        )
        self.add(job, request, ProcessingRunner(self.context, job))
        return {"ProcessingJobArn": arn}

    def describe_processing_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.describe(request["ProcessingJobName"])

    def list_processing_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.list(request)

    def stop_processing_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.stop(request["ProcessingJobName"])

    def delete_processing_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete(request["ProcessingJobName"])
