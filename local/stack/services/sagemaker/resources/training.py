"""Training jobs: CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob."""

from __future__ import annotations

import math
import threading
from typing import Any

from ..runners.job import Ending
from ..runners.training import TrainingRunner
from .base import now, without
from .job import JobFamily, JobResource

DEFAULT_MAX_RUNTIME_SECONDS = 86400


class TrainingJob(JobResource):
    """A training job; it records SageMaker's SecondaryStatus steps as it goes. ``tuned``: the
    hyperparameters its tuning job chose, if a tuning job started it."""

    NAME_KEY = "TrainingJobName"
    ARN_KEY = "TrainingJobArn"
    STATUS_KEY = "TrainingJobStatus"
    START_KEY = "TrainingStartTime"
    END_KEY = "TrainingEndTime"
    SUMMARY_KEYS = (
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    )

    def __init__(
        self,
        lock: threading.RLock,
        description: dict[str, Any],
        tuned: dict[str, str] | None = None,
    ):
        super().__init__(lock, description)
        self.tuned = tuned
        self.transition("Starting", "Launching requested ML instances")

    def transition(self, step: str, message: str, *, final: bool = False) -> None:
        """Record a SecondaryStatus transition (ending the one before)."""
        with self.lock:
            moment = now()
            transitions = self.description.setdefault("SecondaryStatusTransitions", [])
            if transitions and "EndTime" not in transitions[-1]:
                transitions[-1]["EndTime"] = moment
            entry = {"Status": step, "StartTime": moment, "StatusMessage": message}
            if final:
                entry["EndTime"] = moment
            transitions.append(entry)
            self.description["SecondaryStatus"] = step
            self.description["LastModifiedTime"] = moment

    def begin(self) -> None:
        with self.lock:
            super().begin()
            self.transition("Downloading", "Downloading input data")

    def progress(self, step: str, message: str) -> None:
        self.transition(step, message)

    def finish(self, ending: Ending) -> None:
        d = self.description
        with self.lock:
            end = now()
            d["TrainingJobStatus"] = ending.status
            self.transition(ending.step or ending.status, ending.message or "", final=True)
            d["TrainingEndTime"] = end
            started = d.get("TrainingStartTime")
            if started is not None:
                seconds = max(1, math.ceil((end - started).total_seconds()))
                d["TrainingTimeInSeconds"] = seconds
                d["BillableTimeInSeconds"] = seconds
            if ending.reason:
                d["FailureReason"] = ending.reason

    def stopping(self) -> None:
        self.transition("Stopping", "Stopping the training job")


class TrainingJobs(JobFamily[TrainingJob]):
    KIND = "training"
    ARN_RESOURCE = "training-job"
    RESULT_KEY = "TrainingJobSummaries"
    DUPLICATE = (
        "Training job names must be unique within an AWS account and region, and a "
        "training job with this name already exists ({arn})"
    )
    OPERATIONS = (
        "create_training_job",
        "describe_training_job",
        "list_training_jobs",
        "stop_training_job",
        "delete_training_job",
    )

    def create(
        self,
        request: dict[str, Any],
        *,
        tuning_job_arn: str | None = None,
        tuned: dict[str, str] | None = None,
    ) -> TrainingJob:
        """Start a training job (for a tuning job, with the hyperparameters it chose)."""
        name = request["TrainingJobName"]
        arn = self.region.arn(self.ARN_RESOURCE, name)
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        created = now()
        job = TrainingJob(
            self.lock,
            {
                **without(request, "Tags"),
                "TrainingJobArn": arn,
                "TuningJobArn": tuning_job_arn,
                "ModelArtifacts": {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"},
                "TrainingJobStatus": "InProgress",
                "SecondaryStatus": "Starting",
                "SecondaryStatusTransitions": [],
                "HyperParameters": request.get("HyperParameters", {}),
                # SageMaker's default limit is one day; Describe always has a StoppingCondition.
                "StoppingCondition": {
                    "MaxRuntimeInSeconds": DEFAULT_MAX_RUNTIME_SECONDS,
                    **(request.get("StoppingCondition") or {}),
                },
                "CreationTime": created,
                "LastModifiedTime": created,
            },
            tuned,
        )
        self.add(job, request, TrainingRunner(self.context, job))
        return job

    def create_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"TrainingJobArn": self.create(request).arn}

    def describe_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.describe(request["TrainingJobName"])

    def list_training_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("WarmPoolStatusEquals") or request.get("TrainingPlanArnEquals"):
            return {"TrainingJobSummaries": []}  # no warm pools or training plans locally
        return self.list(request)

    def stop_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.stop(request["TrainingJobName"])

    def delete_training_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.delete(request["TrainingJobName"])
