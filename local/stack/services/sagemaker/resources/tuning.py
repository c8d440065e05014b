"""Hyperparameter tuning jobs: Create, Describe, List, Stop, ListTrainingJobsForTuningJob.

Random and Grid search over the job's ranges, run as real training jobs (through the training
family) named ``<tuning job>-NNN-xxxxxxxx`` as SageMaker names them. Bayesian (and Hyperband)
are accepted and run as Random; the tuning job's log says so."""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
import time
import uuid
from typing import Any

from ..exceptions import (
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    SageMakerError,
    ValidationError,
)
from ..execution import LogStream
from ..runners.job import RunnerContext
from .base import Family, Resource, Shared, Store, now, without
from .listing import list_answer, page
from .training import TrainingJob, TrainingJobs

LOG = logging.getLogger(__name__)
TUNING_LOG_GROUP = "/aws/sagemaker/HyperParameterTuningJobs"  # a local addition: see README
POLL_SECONDS = 0.3
MAX_TRAINING_JOBS = 750  # SageMaker's default quota of training jobs per tuning job
# Definition fields a training job request does not take.
DEFINITION_ONLY = (
    "StaticHyperParameters",
    "TuningObjective",
    "HyperParameterRanges",
    "DefinitionName",
)


def empty_training_counters() -> dict[str, int]:
    return {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }


def empty_objective_counters() -> dict[str, int]:
    return {"Succeeded": 0, "Pending": 0, "Failed": 0}


# ---- the search (pure) ---------------------------------------------------------------------------
def _format(value: float, integer: bool) -> str:
    return str(int(round(value))) if integer else f"{value:.10g}"


def _sample(low: float, high: float, scaling: str, rng: random.Random) -> float:
    if scaling == "Logarithmic":
        if low <= 0:
            raise ValidationError("Logarithmic scaling needs a range above 0")
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if scaling == "ReverseLogarithmic":
        if high >= 1:
            raise ValidationError("ReverseLogarithmic scaling needs a range below 1")
        return 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
    return rng.uniform(low, high)


def _range(r: dict[str, Any], kind: str, *, integer: bool) -> tuple[float, float]:
    """A range's bounds as numbers; ValidationError naming it unless MinValue <= MaxValue are
    finite numbers (whole ones for an integer range)."""
    where = f"HyperParameterTuningJobConfig.ParameterRanges.{kind} {r['Name']!r}"
    try:
        low, high = float(r["MinValue"]), float(r["MaxValue"])
    except ValueError as err:
        raise ValidationError(f"{where}: MinValue and MaxValue must be numbers") from err
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValidationError(f"{where}: MinValue must be a finite number <= MaxValue")
    if integer and not (low.is_integer() and high.is_integer()):
        raise ValidationError(f"{where}: MinValue and MaxValue must be integers")
    return low, high


def plan(request: dict[str, Any]) -> list[dict[str, str]]:
    """The tuned hyperparameters of every training job, in launch order; ValidationError for
    what SageMaker rejects when the tuning job is created."""
    config = request["HyperParameterTuningJobConfig"]
    name = request["HyperParameterTuningJobName"]
    if len(name) > 32:
        raise ValidationError(f"HyperParameterTuningJobName {name!r} is longer than 32 characters")
    if request.get("TrainingJobDefinitions"):
        raise ValidationError("TrainingJobDefinitions (several) is not supported locally")
    definition = request.get("TrainingJobDefinition")
    if not definition:
        raise ValidationError("TrainingJobDefinition is required")
    objective = config.get("HyperParameterTuningJobObjective")
    strategy = config["Strategy"]
    metrics = {m["Name"] for m in definition["AlgorithmSpecification"].get("MetricDefinitions", [])}
    if strategy != "Grid" and not objective:
        raise ValidationError(f"{strategy} strategy needs a HyperParameterTuningJobObjective")
    if objective and objective["MetricName"] not in metrics:
        raise ValidationError(
            f"The objective metric {objective['MetricName']} is not one of the MetricDefinitions "
            f"of the training job definition ({', '.join(sorted(metrics)) or 'none'})"
        )
    ranges = config.get("ParameterRanges") or {}
    limits = config.get("ResourceLimits") or {}
    maximum = limits.get("MaxNumberOfTrainingJobs")
    if strategy == "Grid":
        if ranges.get("IntegerParameterRanges") or ranges.get("ContinuousParameterRanges"):
            raise ValidationError("Grid search strategy supports only categorical parameter ranges")
        categorical = ranges.get("CategoricalParameterRanges") or []
        names = [r["Name"] for r in categorical]
        size = math.prod(len(r["Values"]) for r in categorical)
        if min(size, maximum or size) > MAX_TRAINING_JOBS:
            raise ResourceLimitExceeded(
                f"The grid has {size} combinations: a tuning job runs at most "
                f"{MAX_TRAINING_JOBS} training jobs (set ResourceLimits.MaxNumberOfTrainingJobs)"
            )
        combinations = itertools.product(*(r["Values"] for r in categorical))
        return [
            dict(zip(names, values, strict=True))
            for values in itertools.islice(combinations, maximum or size)
        ]
    if not maximum:
        raise ValidationError(f"{strategy} strategy needs ResourceLimits.MaxNumberOfTrainingJobs")
    if maximum > MAX_TRAINING_JOBS:
        raise ResourceLimitExceeded(
            f"ResourceLimits.MaxNumberOfTrainingJobs {maximum} is above the "
            f"{MAX_TRAINING_JOBS} training jobs a tuning job may run"
        )
    rng = random.Random(name)  # the same tuning job name replays the same search
    planned = []
    for _ in range(maximum):
        tuned: dict[str, str] = {}
        for r in ranges.get("IntegerParameterRanges") or []:
            low, high = _range(r, "IntegerParameterRanges", integer=True)
            tuned[r["Name"]] = _format(_sample(low, high, r.get("ScalingType", "Auto"), rng), True)
        for r in ranges.get("ContinuousParameterRanges") or []:
            low, high = _range(r, "ContinuousParameterRanges", integer=False)
            tuned[r["Name"]] = _format(_sample(low, high, r.get("ScalingType", "Auto"), rng), False)
        for r in ranges.get("CategoricalParameterRanges") or []:
            tuned[r["Name"]] = rng.choice(r["Values"])
        planned.append(tuned)
    return planned


def training_summary(
    training: dict[str, Any], tuned: dict[str, str], tuning: dict[str, Any]
) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of one of the tuning job's training jobs."""
    objective = tuning["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
    summary: dict[str, Any] = {
        "TrainingJobName": training["TrainingJobName"],
        "TrainingJobArn": training["TrainingJobArn"],
        "TuningJobName": tuning["HyperParameterTuningJobName"],
        "CreationTime": training["CreationTime"],
        "TrainingJobStatus": training["TrainingJobStatus"],
        "TunedHyperParameters": tuned,
    }
    for key in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if training.get(key):
            summary[key] = training[key]
    value = _objective_value(training, objective)
    if objective is not None and value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
        summary["ObjectiveStatus"] = "Succeeded"
    elif training["TrainingJobStatus"] in ("InProgress", "Stopping"):
        summary["ObjectiveStatus"] = "Pending"
    else:
        summary["ObjectiveStatus"] = "Failed"
    return summary


def _objective_value(training: dict[str, Any], objective: dict[str, Any] | None) -> float | None:
    if not objective or training["TrainingJobStatus"] != "Completed":
        return None
    for metric in training.get("FinalMetricDataList") or []:
        if metric["MetricName"] == objective["MetricName"]:
            return float(metric["Value"])
    return None


def child_request(tuning: dict[str, Any], name: str, tuned: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of one of the tuning job's training jobs."""
    definition = tuning["TrainingJobDefinition"]
    request = without(definition, *DEFINITION_ONLY)
    spec = dict(request["AlgorithmSpecification"])
    spec.pop("AlgorithmName", None)
    request["AlgorithmSpecification"] = spec
    request["TrainingJobName"] = name
    request["HyperParameters"] = {**(definition.get("StaticHyperParameters") or {}), **tuned}
    return request


def better(summary: dict[str, Any], best: dict[str, Any] | None, objective_type: str) -> bool:
    """Whether ``summary``'s objective beats ``best``'s (Maximize or Minimize)."""
    if best is None:
        return True
    value = summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    best_value = best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    return bool(value > best_value if objective_type == "Maximize" else value < best_value)


# ---- the resource --------------------------------------------------------------------------------
class TuningJob(Resource):
    """A tuning job: its describe document, its plan and its training jobs."""

    NAME_KEY = "HyperParameterTuningJobName"
    ARN_KEY = "HyperParameterTuningJobArn"
    STATUS_KEY = "HyperParameterTuningJobStatus"
    SUMMARY_KEYS = (
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
    )

    def __init__(
        self, lock: threading.RLock, description: dict[str, Any], planned: list[dict[str, str]]
    ):
        super().__init__(lock, description)
        self.plan = planned
        self.children: list[TrainingJob] = []
        self.stop_requested = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.description["HyperParameterTuningJobConfig"]
        return config

    def summary(self, description: dict[str, Any]) -> dict[str, Any]:
        config = description["HyperParameterTuningJobConfig"]
        listed = {
            **description,
            "Strategy": config["Strategy"],
            "ResourceLimits": config.get("ResourceLimits"),
        }
        return super().summary(listed)

    def training_summaries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                training_summary(child.description, child.tuned or {}, self.description)
                for child in self.children
            ]

    def running_children(self) -> list[TrainingJob]:
        with self.lock:
            return [c for c in self.children if c.status in ("InProgress", "Stopping")]

    def update_counters(self) -> None:
        objective = self.config.get("HyperParameterTuningJobObjective")
        with self.lock:
            training = empty_training_counters()
            objectives = empty_objective_counters()
            best = None
            for summary in self.training_summaries():
                status = summary["TrainingJobStatus"]
                key = {"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)
                training[key] += 1
                objectives[summary["ObjectiveStatus"]] += 1
                if "FinalHyperParameterTuningJobObjectiveMetric" in summary:
                    assert objective is not None  # a metric value needs an objective
                    if better(summary, best, objective["Type"]):
                        best = summary
            self.description["TrainingJobStatusCounters"] = training
            self.description["ObjectiveStatusCounters"] = objectives
            if best is not None:
                self.description["BestTrainingJob"] = best
            self.description["LastModifiedTime"] = now()


class Tuner:
    """Runs a tuning job's plan: at most MaxParallelTrainingJobs training jobs at a time."""

    def __init__(
        self,
        job: TuningJob,
        training: TrainingJobs,
        context: RunnerContext,
        closing: threading.Event,
    ):
        self.job = job
        self.training = training
        self.context = context
        self.closing = closing

    def run(self) -> None:
        job = self.job
        d = job.description
        name = job.name
        config = job.config
        objective = config.get("HyperParameterTuningJobObjective")
        parallel = (config.get("ResourceLimits") or {}).get("MaxParallelTrainingJobs") or 1
        log = LogStream(
            self.context.client("logs"),
            TUNING_LOG_GROUP,
            f"{name}/tuner",
            self.context.workdir / "sagemaker" / "tuning-jobs" / name / "tuner.log",
        )
        strategy = config["Strategy"]
        if strategy not in ("Random", "Grid"):
            note = f"Strategy {strategy} is run as Random by the local stack"
            LOG.warning("tuning job %s: %s", name, note)
            log.write(note)
        pending = list(enumerate(job.plan, start=1))
        log.write(f"{len(pending)} training jobs planned, {parallel} at a time")
        while (pending or job.running_children()) and not self.closing.is_set():
            if job.stop_requested.is_set():
                for child in job.children:
                    if child.status == "InProgress":
                        child.request_stop()
                pending = []
            while pending and len(job.running_children()) < parallel:
                number, tuned = pending.pop(0)
                child_name = f"{name}-{number:03d}-{uuid.uuid4().hex[:8]}"
                child = self.training.create(
                    child_request(d, child_name, tuned), tuning_job_arn=job.arn, tuned=tuned
                )
                with job.lock:
                    job.children.append(child)
                log.write(f"started {child_name} with {tuned}")
            job.update_counters()
            time.sleep(POLL_SECONDS)
        job.update_counters()
        with job.lock:
            counters = d["ObjectiveStatusCounters"]
            if job.stop_requested.is_set():
                status = "Stopped"
            elif counters["Succeeded"] or (strategy == "Grid" and not objective and job.children):
                status = "Completed"
            else:
                status = "Failed"
                d["FailureReason"] = (
                    "All training jobs failed. See the training jobs' FailureReason."
                )
            d["HyperParameterTuningJobStatus"] = status
            d["HyperParameterTuningEndTime"] = d["LastModifiedTime"] = now()
        log.write(f"tuning job {status}")
        log.flush()


# ---- the family ----------------------------------------------------------------------------------
class TuningJobs(Family):
    OPERATIONS = (
        "create_hyper_parameter_tuning_job",
        "describe_hyper_parameter_tuning_job",
        "list_hyper_parameter_tuning_jobs",
        "stop_hyper_parameter_tuning_job",
        "list_training_jobs_for_hyper_parameter_tuning_job",
        "delete_hyper_parameter_tuning_job",
    )

    def __init__(self, shared: Shared, training: TrainingJobs, closing: threading.Event):
        super().__init__(shared)
        self.training = training
        self.closing = closing
        self.jobs: Store[TuningJob] = Store(self.lock, self.not_found)

    def not_found(self, name: str) -> SageMakerError:
        return ResourceNotFound(f"Amazon SageMaker can't find a tuning job with name {name}")

    def create_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["HyperParameterTuningJobName"]
        arn = self.region.arn("hyper-parameter-tuning-job", name)
        planned = plan(request)  # ValidationError for what SageMaker rejects up front
        created = now()
        job = TuningJob(
            self.lock,
            {
                **without(request, "Tags", "WarmStartConfig"),
                "HyperParameterTuningJobArn": arn,
                "HyperParameterTuningJobStatus": "InProgress",
                "CreationTime": created,
                "LastModifiedTime": created,
                "TrainingJobStatusCounters": empty_training_counters(),
                "ObjectiveStatusCounters": empty_objective_counters(),
            },
            planned,
        )
        with self.lock:
            self.jobs.add(
                job,
                lambda: ResourceInUse(f"Hyperparameter tuning job {name} already exists ({arn})"),
            )
            self.tags.tag(arn, request.get("Tags"))
        tuner = Tuner(job, self.training, self.context, self.closing)
        job.thread = threading.Thread(target=tuner.run, name="tuning-job", daemon=True)
        job.thread.start()
        return {"HyperParameterTuningJobArn": arn}

    def describe_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.jobs.get(request["HyperParameterTuningJobName"]).describe()

    def list_hyper_parameter_tuning_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        return list_answer(
            self.jobs,
            request,
            "HyperParameterTuningJobSummaries",
            sort_by="Name",
            order="Ascending",
        )

    def stop_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["HyperParameterTuningJobName"]
        job = self.jobs.get(name)
        with self.lock:
            if job.description["HyperParameterTuningJobStatus"] != "InProgress":
                raise ValidationError(f"The tuning job {name} is not in progress.")
            job.description["HyperParameterTuningJobStatus"] = "Stopping"
        job.stop_requested.set()
        return {}

    def delete_hyper_parameter_tuning_job(self, request: dict[str, Any]) -> dict[str, Any]:
        """Only a finished tuning job; its training jobs stay (as SageMaker keeps them)."""
        name = request["HyperParameterTuningJobName"]
        with self.lock:
            job = self.jobs.get(name)
            status = job.description["HyperParameterTuningJobStatus"]
            if status in ("InProgress", "Stopping"):
                raise ResourceInUse(
                    f"The tuning job {name} is {status}: stop it before deleting it."
                )
            self.jobs.remove(name)
            self.tags.forget(job.arn)
        return {}

    def list_training_jobs_for_hyper_parameter_tuning_job(
        self, request: dict[str, Any]
    ) -> dict[str, Any]:
        job = self.jobs.get(request["HyperParameterTuningJobName"])
        summaries = job.training_summaries()
        if request.get("StatusEquals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == request["StatusEquals"]]
        sort_by = request.get("SortBy", "Name")
        if sort_by == "FinalObjectiveMetricValue":
            scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            scored.sort(key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
            summaries = scored
        else:
            key = {"Name": "TrainingJobName", "Status": "TrainingJobStatus"}.get(sort_by, sort_by)
            summaries.sort(key=lambda s: s[key])
        if request.get("SortOrder", "Ascending") == "Descending":
            summaries.reverse()
        return page(summaries, request, "TrainingJobSummaries")

    def owns(self, arn: str) -> bool:
        return self.jobs.holds(arn)
