"""Hyperparameter tuning: Random and Grid search over the job's ranges, run as real training jobs
named ``<tuning job>-NNN-xxxxxxxx`` as SageMaker names them. Bayesian (and Hyperband) are accepted
and run as Random; the tuning job's log says so."""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

from .exceptions import ValidationError
from .execution import LogStream

if TYPE_CHECKING:
    from .models import Job, SageMakerBackend

LOG = logging.getLogger(__name__)
TUNING_LOG_GROUP = "/aws/sagemaker/HyperParameterTuningJobs"  # a local addition: see README


def empty_training_counters() -> dict[str, int]:
    return {
        "Completed": 0,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }


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
        grid = [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*(r["Values"] for r in categorical))
        ]
        return grid[:maximum] if maximum else grid
    if not maximum:
        raise ValidationError(f"{strategy} strategy needs ResourceLimits.MaxNumberOfTrainingJobs")
    rng = random.Random(name)  # the same tuning job name replays the same search
    planned = []
    for _ in range(maximum):
        tuned: dict[str, str] = {}
        for r in ranges.get("IntegerParameterRanges") or []:
            low, high = float(r["MinValue"]), float(r["MaxValue"])
            tuned[r["Name"]] = _format(_sample(low, high, r.get("ScalingType", "Auto"), rng), True)
        for r in ranges.get("ContinuousParameterRanges") or []:
            low, high = float(r["MinValue"]), float(r["MaxValue"])
            tuned[r["Name"]] = _format(_sample(low, high, r.get("ScalingType", "Auto"), rng), False)
        for r in ranges.get("CategoricalParameterRanges") or []:
            tuned[r["Name"]] = rng.choice(r["Values"])
        planned.append(tuned)
    return planned


def training_summary(training: dict[str, Any], tuning: dict[str, Any]) -> dict[str, Any]:
    """A HyperParameterTrainingJobSummary of one of the tuning job's training jobs."""
    objective = tuning["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective")
    summary: dict[str, Any] = {
        "TrainingJobName": training["TrainingJobName"],
        "TrainingJobArn": training["TrainingJobArn"],
        "TuningJobName": tuning["HyperParameterTuningJobName"],
        "CreationTime": training["CreationTime"],
        "TrainingJobStatus": training["TrainingJobStatus"],
        "TunedHyperParameters": training["_tuned"],
    }
    for key in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if training.get(key):
            summary[key] = training[key]
    value = _objective_value(training, objective)
    if value is not None:
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
            return metric["Value"]
    return None


def _child_request(tuning: dict[str, Any], name: str, tuned: dict[str, str]) -> dict[str, Any]:
    definition = tuning["TrainingJobDefinition"]
    request = {
        key: value
        for key, value in definition.items()
        if key
        not in (
            "StaticHyperParameters",
            "TuningObjective",
            "HyperParameterRanges",
            "DefinitionName",
        )
    }
    spec = dict(request["AlgorithmSpecification"])
    spec.pop("AlgorithmName", None)
    request["AlgorithmSpecification"] = spec
    request["TrainingJobName"] = name
    request["HyperParameters"] = {**(definition.get("StaticHyperParameters") or {}), **tuned}
    return request


def run_tuning(backend: SageMakerBackend, job: Job) -> None:
    d = job.description
    name = d["HyperParameterTuningJobName"]
    config = d["HyperParameterTuningJobConfig"]
    objective = config.get("HyperParameterTuningJobObjective")
    parallel = (config.get("ResourceLimits") or {}).get("MaxParallelTrainingJobs") or 1
    log = LogStream(
        backend.stack.client("logs"),
        TUNING_LOG_GROUP,
        f"{name}/tuner",
        backend.stack.workdir / "sagemaker" / "tuning-jobs" / name / "tuner.log",
    )
    strategy = config["Strategy"]
    if strategy not in ("Random", "Grid"):
        note = f"Strategy {strategy} is run as Random by the local stack"
        LOG.warning("tuning job %s: %s", name, note)
        log.write(note)
    pending = list(enumerate(job.plan or [], start=1))
    log.write(f"{len(pending)} training jobs planned, {parallel} at a time")
    while (pending or _running(backend, job)) and not backend.closing.is_set():
        if job.stop_requested.is_set():
            for child in job.children:
                child_job = backend.training_jobs[child]
                if child_job.description["TrainingJobStatus"] == "InProgress":
                    backend.stop_training_job({"TrainingJobName": child})
            pending = []
        while pending and len(_running(backend, job)) < parallel:
            number, tuned = pending.pop(0)
            child = f"{name}-{number:03d}-{uuid.uuid4().hex[:8]}"
            backend.create_training_job(
                _child_request(d, child, tuned), tuning_job_arn=d["HyperParameterTuningJobArn"]
            )
            with backend.lock:
                backend.training_jobs[child].description["_tuned"] = tuned
                job.children.append(child)
            log.write(f"started {child} with {tuned}")
        _update_counters(backend, job, objective)
        time.sleep(0.3)
    _update_counters(backend, job, objective)
    with backend.lock:
        counters = d["ObjectiveStatusCounters"]
        if job.stop_requested.is_set():
            status = "Stopped"
        elif counters["Succeeded"] or (strategy == "Grid" and not objective and job.children):
            status = "Completed"
        else:
            status = "Failed"
            d["FailureReason"] = "All training jobs failed. See the training jobs' FailureReason."
        d["HyperParameterTuningJobStatus"] = status
        d["HyperParameterTuningEndTime"] = d["LastModifiedTime"] = _now()
    log.write(f"tuning job {status}")
    log.flush()


def _now():
    from .models import now

    return now()


def _running(backend: SageMakerBackend, job: Job) -> list[str]:
    with backend.lock:
        return [
            c
            for c in job.children
            if backend.training_jobs[c].description["TrainingJobStatus"]
            in ("InProgress", "Stopping")
        ]


def _update_counters(backend: SageMakerBackend, job: Job, objective: dict[str, Any] | None) -> None:
    with backend.lock:
        d = job.description
        training = empty_training_counters()
        objectives = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        best = None
        for child in job.children:
            summary = training_summary(backend.training_jobs[child].description, d)
            status = summary["TrainingJobStatus"]
            key = {"Failed": "NonRetryableError", "Stopping": "InProgress"}.get(status, status)
            training[key] += 1
            objectives[summary["ObjectiveStatus"]] += 1
            metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
            if metric is not None:
                better = best is None or (
                    metric["Value"] > best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                    if objective["Type"] == "Maximize"
                    else metric["Value"]
                    < best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                )
                if better:
                    best = summary
        d["TrainingJobStatusCounters"] = training
        d["ObjectiveStatusCounters"] = objectives
        if best is not None:
            d["BestTrainingJob"] = best
        d["LastModifiedTime"] = _now()
