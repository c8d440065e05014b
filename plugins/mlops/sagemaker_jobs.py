"""The SageMaker job kinds the DAGs start, and how to find and describe a job of each kind.

One table for every part that asks SageMaker about a job a task started: the retry guard lists
running jobs by name, the failure notification describes the failed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    """One kind of SageMaker job, by the name field of its Create request."""

    name_field: str  # e.g. TrainingJobName, in the request and in list summaries
    list_operation: str  # boto3 method listing jobs of the kind
    summaries_key: str  # where the list answer puts them
    describe_operation: str  # boto3 method describing one job
    status_field: str  # where the describe answer puts the job's status


JOB_KINDS = (
    JobKind(
        "ProcessingJobName",
        "list_processing_jobs",
        "ProcessingJobSummaries",
        "describe_processing_job",
        "ProcessingJobStatus",
    ),
    JobKind(
        "TrainingJobName",
        "list_training_jobs",
        "TrainingJobSummaries",
        "describe_training_job",
        "TrainingJobStatus",
    ),
    JobKind(
        "TransformJobName",
        "list_transform_jobs",
        "TransformJobSummaries",
        "describe_transform_job",
        "TransformJobStatus",
    ),
    JobKind(
        "HyperParameterTuningJobName",
        "list_hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobSummaries",
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobStatus",
    ),
)


def job_in_request(request: Any) -> tuple[JobKind, str] | None:
    """The kind and name of the job a Create request starts; None for other requests."""
    if not isinstance(request, Mapping):
        return None
    for kind in JOB_KINDS:
        name = request.get(kind.name_field)
        if name:
            return kind, str(name)
    return None
