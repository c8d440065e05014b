"""SageMaker's state and behaviour: jobs, models, endpoint configs, endpoints, the model registry
and tags. One method per operation, ``<operation in snake case>(request) -> response``; the
protocol layer (responses.py) has already validated ``request`` against botocore's model.
Jobs run in threads (jobs.py, tuning.py), servers in processes (hosting.py)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import hosting, jobs, tuning
from .exceptions import (
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    RuntimeValidationError,
    ValidationError,
)

if TYPE_CHECKING:
    from local.stack.server import LocalStack

LOG = logging.getLogger(__name__)

NOT_FOUND = "Requested resource not found."


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Job:
    """A job's describe document plus what runs it."""

    kind: str  # "training", "processing", "transform", "tuning"
    description: dict[str, Any]
    stop_requested: threading.Event = field(default_factory=threading.Event)
    process: Any = None  # execution.ContainerProcess while the container runs
    thread: threading.Thread | None = None
    model: dict[str, Any] | None = None  # transform: the model as it was at creation
    plan: list[dict[str, str]] | None = None  # tuning: hyperparameters of each training job
    children: list[str] = field(default_factory=list)  # tuning: its training jobs' names


class SageMakerBackend:
    """All SageMaker state of one stack, kept in memory."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.region = stack.region
        self.account_id = stack.account_id
        self.lock = threading.RLock()
        self.slots = threading.BoundedSemaphore(stack.job_slots)
        self.closing = threading.Event()
        self.training_jobs: dict[str, Job] = {}
        self.processing_jobs: dict[str, Job] = {}
        self.transform_jobs: dict[str, Job] = {}
        self.tuning_jobs: dict[str, Job] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoint_configs: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, hosting.Endpoint] = {}
        self.package_groups: dict[str, dict[str, Any]] = {}
        self.packages: dict[str, dict[str, Any]] = {}  # by ARN
        self.tags: dict[str, dict[str, str]] = {}  # ARN → key → value

    # ---- helpers ---------------------------------------------------------------------------
    def arn(self, resource: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{resource}/{name.lower()}"

    def _tag(self, arn: str, tags: Iterable[dict[str, str]] | None) -> None:
        if tags:
            self.tags.setdefault(arn, {}).update({t["Key"]: t.get("Value", "") for t in tags})

    def _start(self, job: Job, target: Callable[[SageMakerBackend, Job], None]) -> None:
        job.thread = threading.Thread(
            target=target, args=(self, job), name=f"{job.kind}-job", daemon=True
        )
        job.thread.start()

    @staticmethod
    def _copy(description: dict[str, Any]) -> dict[str, Any]:
        with_values = {
            k: v for k, v in description.items() if v is not None and not k.startswith("_")
        }
        return copy.deepcopy(with_values)

    def _list(
        self,
        items: Iterable[dict[str, Any]],
        request: dict[str, Any],
        *,
        name_key: str,
        status_key: str | None,
        result_key: str,
        summary_keys: tuple[str, ...],
    ) -> dict[str, Any]:
        """List*'s common filters, sorting and paging over describe documents."""
        with self.lock:
            selected = [copy.deepcopy(item) for item in items]
        contains = (request.get("NameContains") or "").lower()
        if contains:
            selected = [i for i in selected if contains in i[name_key].lower()]
        if status_key and request.get("StatusEquals"):
            selected = [i for i in selected if i.get(status_key) == request["StatusEquals"]]
        for bound, keep in (
            ("CreationTimeAfter", lambda i, t: i["CreationTime"] > t),
            ("CreationTimeBefore", lambda i, t: i["CreationTime"] < t),
            (
                "LastModifiedTimeAfter",
                lambda i, t: i.get("LastModifiedTime", i["CreationTime"]) > t,
            ),
            (
                "LastModifiedTimeBefore",
                lambda i, t: i.get("LastModifiedTime", i["CreationTime"]) < t,
            ),
        ):
            if request.get(bound) is not None:
                selected = [i for i in selected if keep(i, request[bound])]
        sort_by = request.get("SortBy", "CreationTime")
        sort_key = {"Name": name_key, "Status": status_key}.get(sort_by, "CreationTime")
        ascending = request.get("SortOrder", "Descending") == "Ascending"
        selected.sort(key=lambda i: i.get(sort_key) or "", reverse=not ascending)
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or 10)
        page = selected[start : start + size]
        answer: dict[str, Any] = {
            result_key: [{k: i[k] for k in summary_keys if i.get(k) is not None} for i in page]
        }
        if start + size < len(selected):
            answer["NextToken"] = str(start + size)
        return answer

    def _job(self, registry: dict[str, Job], name: str) -> Job:
        with self.lock:
            job = registry.get(name)
        if job is None:
            raise ValidationError(NOT_FOUND)
        return job

    def _stop(self, registry: dict[str, Job], name: str, status_key: str) -> dict[str, Any]:
        job = self._job(registry, name)
        with self.lock:
            status = job.description[status_key]
            if status not in ("InProgress", "Stopping"):
                raise ValidationError(f"The job {name} is not in progress (status {status}).")
            job.description[status_key] = "Stopping"
            job.description["LastModifiedTime"] = now()
            if job.kind == "training":
                jobs.transition(job, "Stopping", "Stopping the training job")
        job.stop_requested.set()
        return {}

    def container_pid(self, job_name: str) -> int | None:
        """The process id of a running training/processing/transform job's container (for
        fault-injection tests that kill it as a lost instance would die), else None."""
        with self.lock:
            for registry in (self.training_jobs, self.processing_jobs, self.transform_jobs):
                job = registry.get(job_name)
                container = job.process if job else None
                if isinstance(container, hosting.ModelServer):  # a transform job's server
                    container = container.process
                if container is not None and container.running:
                    return container.process.pid
        return None

    def shutdown(self) -> None:
        """End every job and server process (the stack is stopping)."""
        self.closing.set()
        with self.lock:
            running = [
                job
                for registry in (self.training_jobs, self.processing_jobs, self.transform_jobs)
                for job in registry.values()
            ]
            endpoints = list(self.endpoints.values())
        for job in running:
            job.stop_requested.set()
            if job.process is not None and job.process.running:
                job.process.terminate(grace_seconds=2)
        for endpoint in endpoints:
            endpoint.close()
        for job in running:
            if job.thread is not None:
                job.thread.join(timeout=10)

    # ---- training ----------------------------------------------------------------------------
    def create_training_job(self, request: dict[str, Any], tuning_job_arn: str | None = None):
        name = request["TrainingJobName"]
        arn = self.arn("training-job", name)
        spec = request["AlgorithmSpecification"]
        if not spec.get("TrainingImage"):
            raise ValidationError(
                f"CreateTrainingJob {name}: AlgorithmSpecification.TrainingImage is required "
                "(algorithms from AWS Marketplace are not available locally)"
            )
        output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        created = now()
        description = {
            **{k: v for k, v in request.items() if k != "Tags"},
            "TrainingJobArn": arn,
            "TuningJobArn": tuning_job_arn,
            "ModelArtifacts": {"S3ModelArtifacts": f"{output}/{name}/output/model.tar.gz"},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "SecondaryStatusTransitions": [],
            "HyperParameters": request.get("HyperParameters", {}),
            "CreationTime": created,
            "LastModifiedTime": created,
        }
        job = Job("training", description)
        with self.lock:
            if name in self.training_jobs:
                raise ResourceInUse(
                    "Training job names must be unique within an AWS account and region, and a "
                    f"training job with this name already exists ({arn})"
                )
            jobs.transition(job, "Starting", "Launching requested ML instances")
            self.training_jobs[name] = job
            self._tag(arn, request.get("Tags"))
        self._start(job, jobs.run_training)
        return {"TrainingJobArn": arn}

    def describe_training_job(self, request):
        job = self._job(self.training_jobs, request["TrainingJobName"])
        with self.lock:
            return self._copy(job.description)

    def list_training_jobs(self, request):
        return self._list(
            (j.description for j in self.training_jobs.values()),
            request,
            name_key="TrainingJobName",
            status_key="TrainingJobStatus",
            result_key="TrainingJobSummaries",
            summary_keys=(
                "TrainingJobName",
                "TrainingJobArn",
                "CreationTime",
                "TrainingEndTime",
                "LastModifiedTime",
                "TrainingJobStatus",
                "SecondaryStatus",
            ),
        )

    def stop_training_job(self, request):
        return self._stop(self.training_jobs, request["TrainingJobName"], "TrainingJobStatus")

    # ---- processing --------------------------------------------------------------------------
    def create_processing_job(self, request):
        name = request["ProcessingJobName"]
        arn = self.arn("processing-job", name)
        created = now()
        description = {
            **{k: v for k, v in request.items() if k != "Tags"},
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": "InProgress",
            "CreationTime": created,
            "LastModifiedTime": created,
        }
        job = Job("processing", description)
        with self.lock:
            if name in self.processing_jobs:
                raise ResourceInUse(
                    f"Job name must be unique within an AWS account and region, and a job "
                    f"with this name already exists ({arn})"
                )
            self.processing_jobs[name] = job
            self._tag(arn, request.get("Tags"))
        self._start(job, jobs.run_processing)
        return {"ProcessingJobArn": arn}

    def describe_processing_job(self, request):
        job = self._job(self.processing_jobs, request["ProcessingJobName"])
        with self.lock:
            return self._copy(job.description)

    def list_processing_jobs(self, request):
        return self._list(
            (j.description for j in self.processing_jobs.values()),
            request,
            name_key="ProcessingJobName",
            status_key="ProcessingJobStatus",
            result_key="ProcessingJobSummaries",
            summary_keys=(
                "ProcessingJobName",
                "ProcessingJobArn",
                "CreationTime",
                "ProcessingEndTime",
                "LastModifiedTime",
                "ProcessingJobStatus",
                "FailureReason",
                "ExitMessage",
            ),
        )

    def stop_processing_job(self, request):
        return self._stop(self.processing_jobs, request["ProcessingJobName"], "ProcessingJobStatus")

    # ---- batch transform ---------------------------------------------------------------------
    def create_transform_job(self, request):
        name = request["TransformJobName"]
        arn = self.arn("transform-job", name)
        with self.lock:
            if name in self.transform_jobs:
                raise ResourceInUse(
                    f"Job name must be unique within an AWS account and region, and a job "
                    f"with this name already exists ({arn})"
                )
            model = self.models.get(request["ModelName"])
            if model is None:
                raise ValidationError(
                    f'Could not find model "{self.arn("model", request["ModelName"])}".'
                )
            created = now()
            description = {
                **{k: v for k, v in request.items() if k != "Tags"},
                "TransformJobArn": arn,
                "TransformJobStatus": "InProgress",
                "CreationTime": created,
                "LastModifiedTime": created,
            }
            job = Job("transform", description)
            job.model = copy.deepcopy(model)  # the model as it was when the job was created
            self.transform_jobs[name] = job
            self._tag(arn, request.get("Tags"))
        self._start(job, jobs.run_transform)
        return {"TransformJobArn": arn}

    def describe_transform_job(self, request):
        job = self._job(self.transform_jobs, request["TransformJobName"])
        with self.lock:
            return self._copy(job.description)

    def list_transform_jobs(self, request):
        return self._list(
            (j.description for j in self.transform_jobs.values()),
            request,
            name_key="TransformJobName",
            status_key="TransformJobStatus",
            result_key="TransformJobSummaries",
            summary_keys=(
                "TransformJobName",
                "TransformJobArn",
                "CreationTime",
                "TransformEndTime",
                "LastModifiedTime",
                "TransformJobStatus",
                "FailureReason",
            ),
        )

    def stop_transform_job(self, request):
        return self._stop(self.transform_jobs, request["TransformJobName"], "TransformJobStatus")

    # ---- hyperparameter tuning ---------------------------------------------------------------
    def create_hyper_parameter_tuning_job(self, request):
        name = request["HyperParameterTuningJobName"]
        arn = self.arn("hyper-parameter-tuning-job", name)
        plan = tuning.plan(request)  # ValidationError for what SageMaker rejects up front
        created = now()
        description = {
            **{k: v for k, v in request.items() if k not in ("Tags", "WarmStartConfig")},
            "HyperParameterTuningJobArn": arn,
            "HyperParameterTuningJobStatus": "InProgress",
            "CreationTime": created,
            "LastModifiedTime": created,
            "TrainingJobStatusCounters": tuning.empty_training_counters(),
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        }
        job = Job("tuning", description)
        job.plan = plan
        with self.lock:
            if name in self.tuning_jobs:
                raise ResourceInUse(f"Hyperparameter tuning job {name} already exists ({arn})")
            self.tuning_jobs[name] = job
            self._tag(arn, request.get("Tags"))
        self._start(job, tuning.run_tuning)
        return {"HyperParameterTuningJobArn": arn}

    def describe_hyper_parameter_tuning_job(self, request):
        name = request["HyperParameterTuningJobName"]
        with self.lock:
            job = self.tuning_jobs.get(name)
            if job is None:
                raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
            return self._copy(job.description)

    def list_hyper_parameter_tuning_jobs(self, request):
        with self.lock:
            items = [
                {
                    **j.description,
                    "Strategy": j.description["HyperParameterTuningJobConfig"]["Strategy"],
                    "ResourceLimits": j.description["HyperParameterTuningJobConfig"].get(
                        "ResourceLimits"
                    ),
                }
                for j in self.tuning_jobs.values()
            ]
        return self._list(
            items,
            request,
            name_key="HyperParameterTuningJobName",
            status_key="HyperParameterTuningJobStatus",
            result_key="HyperParameterTuningJobSummaries",
            summary_keys=(
                "HyperParameterTuningJobName",
                "HyperParameterTuningJobArn",
                "HyperParameterTuningJobStatus",
                "Strategy",
                "CreationTime",
                "HyperParameterTuningEndTime",
                "LastModifiedTime",
                "TrainingJobStatusCounters",
                "ObjectiveStatusCounters",
                "ResourceLimits",
            ),
        )

    def stop_hyper_parameter_tuning_job(self, request):
        name = request["HyperParameterTuningJobName"]
        with self.lock:
            job = self.tuning_jobs.get(name)
            if job is None:
                raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
            if job.description["HyperParameterTuningJobStatus"] != "InProgress":
                raise ValidationError(f"The tuning job {name} is not in progress.")
            job.description["HyperParameterTuningJobStatus"] = "Stopping"
        job.stop_requested.set()
        return {}

    def list_training_jobs_for_hyper_parameter_tuning_job(self, request):
        name = request["HyperParameterTuningJobName"]
        with self.lock:
            job = self.tuning_jobs.get(name)
            if job is None:
                raise ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
            summaries = [
                tuning.training_summary(self.training_jobs[child].description, job.description)
                for child in getattr(job, "children", [])
            ]
        if request.get("StatusEquals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == request["StatusEquals"]]
        sort_by = request.get("SortBy", "CreationTime")
        if sort_by == "FinalObjectiveMetricValue":
            scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            scored.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            summaries = scored
        else:
            key = {"Name": "TrainingJobName", "Status": "TrainingJobStatus"}.get(sort_by, sort_by)
            summaries.sort(key=lambda s: s[key])
        if request.get("SortOrder", "Descending") == "Descending":
            summaries.reverse()
        start = int(request.get("NextToken") or 0)
        size = int(request.get("MaxResults") or 10)
        answer: dict[str, Any] = {"TrainingJobSummaries": summaries[start : start + size]}
        if start + size < len(summaries):
            answer["NextToken"] = str(start + size)
        return answer

    # ---- models ------------------------------------------------------------------------------
    def create_model(self, request):
        name = request["ModelName"]
        arn = self.arn("model", name)
        container = request.get("PrimaryContainer") or (request.get("Containers") or [None])[0]
        if container is None or not container.get("Image"):
            raise ValidationError(f"CreateModel {name}: PrimaryContainer.Image is required")
        with self.lock:
            if name in self.models:
                raise ValidationError(f'Cannot create already existing model "{arn}".')
            self.models[name] = {
                **{k: v for k, v in request.items() if k != "Tags"},
                "ModelArn": arn,
                "CreationTime": now(),
            }
            self._tag(arn, request.get("Tags"))
        return {"ModelArn": arn}

    def _model(self, name: str) -> dict[str, Any]:
        with self.lock:
            model = self.models.get(name)
        if model is None:
            raise ValidationError(f'Could not find model "{self.arn("model", name)}".')
        return model

    def describe_model(self, request):
        return self._copy(self._model(request["ModelName"]))

    def delete_model(self, request):
        model = self._model(request["ModelName"])
        with self.lock:
            self.models.pop(request["ModelName"], None)
            self.tags.pop(model["ModelArn"], None)
        return {}

    def list_models(self, request):
        return self._list(
            self.models.values(),
            request,
            name_key="ModelName",
            status_key=None,
            result_key="Models",
            summary_keys=("ModelName", "ModelArn", "CreationTime"),
        )

    # ---- endpoint configs --------------------------------------------------------------------
    def create_endpoint_config(self, request):
        name = request["EndpointConfigName"]
        arn = self.arn("endpoint-config", name)
        with self.lock:
            if name in self.endpoint_configs:
                raise ValidationError(
                    f'Cannot create already existing endpoint configuration "{arn}".'
                )
            for variant in request["ProductionVariants"]:
                if variant.get("ModelName") not in self.models:
                    raise ValidationError(
                        f'Could not find model "{self.arn("model", variant.get("ModelName", ""))}" '
                        f"for production variant {variant['VariantName']}."
                    )
            self.endpoint_configs[name] = {
                **{k: v for k, v in request.items() if k != "Tags"},
                "EndpointConfigArn": arn,
                "CreationTime": now(),
            }
            self._tag(arn, request.get("Tags"))
        return {"EndpointConfigArn": arn}

    def _endpoint_config(self, name: str) -> dict[str, Any]:
        with self.lock:
            config = self.endpoint_configs.get(name)
        if config is None:
            raise ValidationError(
                f'Could not find endpoint configuration "{self.arn("endpoint-config", name)}".'
            )
        return config

    def describe_endpoint_config(self, request):
        return self._copy(self._endpoint_config(request["EndpointConfigName"]))

    def delete_endpoint_config(self, request):
        config = self._endpoint_config(request["EndpointConfigName"])
        with self.lock:
            self.endpoint_configs.pop(request["EndpointConfigName"], None)
            self.tags.pop(config["EndpointConfigArn"], None)
        return {}

    def list_endpoint_configs(self, request):
        return self._list(
            self.endpoint_configs.values(),
            request,
            name_key="EndpointConfigName",
            status_key=None,
            result_key="EndpointConfigs",
            summary_keys=("EndpointConfigName", "EndpointConfigArn", "CreationTime"),
        )

    # ---- endpoints ---------------------------------------------------------------------------
    def _models_for(self, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {v["VariantName"]: self._model(v["ModelName"]) for v in config["ProductionVariants"]}

    def create_endpoint(self, request):
        name = request["EndpointName"]
        arn = self.arn("endpoint", name)
        config = copy.deepcopy(self._endpoint_config(request["EndpointConfigName"]))
        models = copy.deepcopy(self._models_for(config))
        with self.lock:
            if name in self.endpoints:
                raise ValidationError(f'Cannot create already existing endpoint "{arn}".')
            endpoint = hosting.Endpoint(self, name, arn, config, models)
            self.endpoints[name] = endpoint
            self._tag(arn, request.get("Tags"))
        endpoint.create(request.get("DeploymentConfig"))
        return {"EndpointArn": arn}

    def _endpoint(self, name: str) -> hosting.Endpoint:
        with self.lock:
            endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(f'Could not find endpoint "{self.arn("endpoint", name)}".')
        return endpoint

    def describe_endpoint(self, request):
        return self._endpoint(request["EndpointName"]).describe()

    def update_endpoint(self, request):
        endpoint = self._endpoint(request["EndpointName"])
        config = copy.deepcopy(self._endpoint_config(request["EndpointConfigName"]))
        models = copy.deepcopy(self._models_for(config))
        endpoint.update(config, models, request.get("DeploymentConfig"))
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, request):
        endpoint = self._endpoint(request["EndpointName"])
        with self.lock:
            self.endpoints.pop(endpoint.name, None)
            self.tags.pop(endpoint.arn, None)
        endpoint.close()
        return {}

    def list_endpoints(self, request):
        return self._list(
            [e.describe() for e in list(self.endpoints.values())],
            request,
            name_key="EndpointName",
            status_key="EndpointStatus",
            result_key="Endpoints",
            summary_keys=(
                "EndpointName",
                "EndpointArn",
                "CreationTime",
                "LastModifiedTime",
                "EndpointStatus",
            ),
        )

    def invoke_endpoint(self, name, *, body, content_type, accept, target_variant):
        with self.lock:
            endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise RuntimeValidationError(f"Endpoint {name} of account {self.account_id} not found.")
        return endpoint.invoke(body, content_type, accept, target_variant)

    # ---- model registry ----------------------------------------------------------------------
    def create_model_package_group(self, request):
        name = request["ModelPackageGroupName"]
        arn = self.arn("model-package-group", name)
        with self.lock:
            if name in self.package_groups:
                raise ValidationError(f"Model Package Group already exists: {arn}")
            self.package_groups[name] = {
                "ModelPackageGroupName": name,
                "ModelPackageGroupArn": arn,
                "ModelPackageGroupDescription": request.get("ModelPackageGroupDescription"),
                "CreationTime": now(),
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
                "_next_version": 1,
            }
            self._tag(arn, request.get("Tags"))
        return {"ModelPackageGroupArn": arn}

    def _package_group(self, name: str) -> dict[str, Any]:
        with self.lock:
            group = self.package_groups.get(
                name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
            )
        if group is None:
            raise ValidationError(f"ModelPackageGroup {name} does not exist.")
        return group

    def describe_model_package_group(self, request):
        group = self._package_group(request["ModelPackageGroupName"])
        return {k: v for k, v in self._copy(group).items() if not k.startswith("_")}

    def list_model_package_groups(self, request):
        listed = [
            {k: v for k, v in g.items() if not k.startswith("_")}
            for g in self.package_groups.values()
        ]
        return self._list(
            listed,
            request,
            name_key="ModelPackageGroupName",
            status_key=None,
            result_key="ModelPackageGroupSummaryList",
            summary_keys=(
                "ModelPackageGroupName",
                "ModelPackageGroupArn",
                "ModelPackageGroupDescription",
                "CreationTime",
                "ModelPackageGroupStatus",
            ),
        )

    def create_model_package(self, request):
        group_name = request.get("ModelPackageGroupName")
        if not group_name:
            raise ValidationError(
                "CreateModelPackage: only versioned packages (ModelPackageGroupName) are "
                "supported by the local stack"
            )
        with self.lock:
            group = self._package_group(group_name)
            version = group["_next_version"]
            group["_next_version"] += 1
            name = group["ModelPackageGroupName"]
            arn = self.arn("model-package", f"{name}/{version}")
            created = now()
            self.packages[arn] = {
                **{k: v for k, v in request.items() if k not in ("Tags", "ClientToken")},
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
                "ModelApprovalStatus": request.get("ModelApprovalStatus", "PendingManualApproval"),
            }
            self._tag(arn, request.get("Tags"))
        return {"ModelPackageArn": arn}

    def _package(self, name_or_arn: str) -> dict[str, Any]:
        with self.lock:
            package = self.packages.get(name_or_arn)
        if package is None:
            raise ValidationError(f"ModelPackage {name_or_arn} does not exist.")
        return package

    def describe_model_package(self, request):
        return self._copy(self._package(request["ModelPackageName"]))

    def update_model_package(self, request):
        package = self._package(request["ModelPackageArn"])
        with self.lock:
            for key in ("ModelApprovalStatus", "ApprovalDescription", "ModelCardStatus"):
                if key in request:
                    package[key] = request[key]
            if request.get("CustomerMetadataProperties"):
                package.setdefault("CustomerMetadataProperties", {}).update(
                    request["CustomerMetadataProperties"]
                )
            for key in request.get("CustomerMetadataPropertiesToRemove") or []:
                package.get("CustomerMetadataProperties", {}).pop(key, None)
            package["LastModifiedTime"] = now()
        return {"ModelPackageArn": package["ModelPackageArn"]}

    def list_model_packages(self, request):
        group = request.get("ModelPackageGroupName")
        items = [
            p
            for p in self.packages.values()
            if group is None or p["ModelPackageGroupName"] == group.rsplit("/", 1)[-1]
        ]
        if request.get("ModelApprovalStatus"):
            items = [p for p in items if p["ModelApprovalStatus"] == request["ModelApprovalStatus"]]
        return self._list(
            items,
            request,
            name_key="ModelPackageName",
            status_key="ModelPackageStatus",
            result_key="ModelPackageSummaryList",
            summary_keys=(
                "ModelPackageName",
                "ModelPackageGroupName",
                "ModelPackageVersion",
                "ModelPackageArn",
                "ModelPackageDescription",
                "CreationTime",
                "ModelPackageStatus",
                "ModelApprovalStatus",
            ),
        )

    # ---- tags --------------------------------------------------------------------------------
    def _known_arn(self, arn: str) -> bool:
        with self.lock:
            return arn in self.tags or any(
                arn == item
                for item in (
                    *(j.description.get(k) for r, k in self._job_arn_keys() for j in r.values()),
                    *(m["ModelArn"] for m in self.models.values()),
                    *(c["EndpointConfigArn"] for c in self.endpoint_configs.values()),
                    *(e.arn for e in self.endpoints.values()),
                    *(g["ModelPackageGroupArn"] for g in self.package_groups.values()),
                    *self.packages,
                )
            )

    def _job_arn_keys(self):
        return (
            (self.training_jobs, "TrainingJobArn"),
            (self.processing_jobs, "ProcessingJobArn"),
            (self.transform_jobs, "TransformJobArn"),
            (self.tuning_jobs, "HyperParameterTuningJobArn"),
        )

    def add_tags(self, request):
        arn = request["ResourceArn"]
        if not self._known_arn(arn):
            raise ResourceNotFound(f"Resource {arn} not found.")
        if len(self.tags.get(arn, {})) + len(request["Tags"]) > 50:
            raise ResourceLimitExceeded(f"Resource {arn} would have more than 50 tags.")
        with self.lock:
            self._tag(arn, request["Tags"])
            return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags[arn].items()]}

    def list_tags(self, request):
        arn = request["ResourceArn"]
        if not self._known_arn(arn):
            raise ResourceNotFound(f"Resource {arn} not found.")
        with self.lock:
            return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags.get(arn, {}).items()]}

    def delete_tags(self, request):
        arn = request["ResourceArn"]
        if not self._known_arn(arn):
            raise ResourceNotFound(f"Resource {arn} not found.")
        with self.lock:
            for key in request["TagKeys"]:
                self.tags.get(arn, {}).pop(key, None)
        return {}
