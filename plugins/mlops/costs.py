"""What a run's SageMaker jobs cost: billable seconds from their Describe answers, priced with the
instance price table (``include/config/instance_prices.yaml``).

Billable seconds, as SageMaker counts them (botocore's DescribeTrainingJob documentation):

- a training job: ``BillableTimeInSeconds`` x ``InstanceCount``. With managed spot, SageMaker
  reports the saving as a ``BillableTimeInSeconds`` shorter than ``TrainingTimeInSeconds``
  (saving = 1 - billable / training), and the on-demand price applies to the billable time;
- a processing or transform job: the API has no billable field, so (end - start), rounded up to
  the second, x ``InstanceCount``;
- a tuning job: the sum over its training jobs. Its ``ConsumedResources.RuntimeInSeconds`` is the
  tuning job's wall clock, not instance time: with parallel training jobs it counts less than
  SageMaker bills, so it is not used.

A cost needs the job's instance type priced in the table for the environment's region; when it is
not, the job's cost is unknown with the reason (and so is the run's total), never guessed. A
malformed table is a settings error naming the file and the field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from mlops.config import InstanceType, config_file_path
from mlops.sagemaker_jobs import job_in_request
from mlops.settings import SettingsError

if TYPE_CHECKING:
    from mlops.steps import Reported

PRICES_FILE_ENV = "MLOPS_PRICES_FILE"
PRICES_FILE_NAME = "instance_prices.yaml"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"
Region = Annotated[str, Field(pattern=REGION_PATTERN)]
HourlyPrice = Annotated[float, Field(gt=0, allow_inf_nan=False)]
SECONDS_PER_HOUR = 3600


class PriceTableError(SettingsError):
    """The instance price table is missing or invalid; the message names the file and field."""


class CostUnknown(ValueError):
    """A job whose billable seconds cannot be read from its description (the message: why)."""


class PriceTable(BaseModel):
    """On-demand USD per instance-hour by region and SageMaker instance type, with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)
    as_of: date
    currency: Literal["USD"]
    regions: dict[Region, dict[InstanceType, HourlyPrice]]
    _path: str = PrivateAttr(default="")  # where it was read from, for the reasons it gives

    @property
    def label(self) -> str:
        """The source and date the notification shows next to a cost."""
        return f"{self.source}, as of {self.as_of.isoformat()}"

    def hourly(self, region: str, instance_type: str) -> tuple[float | None, str]:
        """(USD per instance-hour, "") or (None, why there is no price)."""
        where = self._path or "the price table"
        prices = self.regions.get(region)
        if prices is None:
            known = ", ".join(sorted(self.regions)) or "none"
            return None, f"no prices for region {region} in {where} (it has: {known})"
        price = prices.get(instance_type)
        if price is None:
            return None, f"no price for {instance_type} in {region} in {where}"
        return price, ""


def price_table_path() -> Path:
    """``$MLOPS_PRICES_FILE``, else include/config/ (the repository) or dags/config/ (the MWAA
    bundle) beside plugins/, as for the countries file."""
    return config_file_path(PRICES_FILE_ENV, PRICES_FILE_NAME)


def _field(loc: tuple[Any, ...]) -> str:
    # Instance types hold dots: "regions['eu-west-1']['ml.m5.xlarge']", not a dotted path.
    if not loc:
        return "-"
    head, *rest = loc
    return str(head) + "".join(" (the key)" if part == "[key]" else f"[{part!r}]" for part in rest)


def parse_price_table(text: str, path: Path) -> PriceTable:
    """Validate the YAML text of a price table; ``path`` names it in errors."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceTableError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PriceTableError(
            f"{path}: expected a mapping with source, as_of, currency and regions at top level"
        )
    try:
        table = PriceTable.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"field {_field(tuple(e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PriceTableError(f"{path}: invalid instance price table: {problems}") from None
    table._path = str(path)
    return table


def load_price_table(path: Path | None = None) -> PriceTable:
    """Read and validate the price table (``price_table_path()`` by default)."""
    path = path or price_table_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PriceTableError(
            f"{path}: instance price table not found (set {PRICES_FILE_ENV} or create it)"
        ) from None
    return parse_price_table(text, path)


# ---------------------------------------------------------------- billable seconds (pure)
@dataclasses.dataclass(frozen=True)
class JobUsage:
    """What one SageMaker job (or one instance group of it) was billed for."""

    task_id: str
    kind: str  # training, processing or transform
    job: str
    instance_type: str
    instance_count: int
    seconds_per_instance: int
    # Training jobs: TrainingTimeInSeconds (longer than the billable time under managed spot).
    training_seconds: int | None = None
    tuning_job: str | None = None

    @property
    def billable_seconds(self) -> int:
        return self.seconds_per_instance * self.instance_count


def _moment(value: Any, field: str, job: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise CostUnknown(f"job {job} has no {field} (has it ended?)")


def _elapsed(description: Mapping[str, Any], start: str, end: str, job: str) -> int:
    began = _moment(description.get(start), start, job)
    ended = _moment(description.get(end), end, job)
    return max(0, math.ceil((ended - began).total_seconds()))


def job_usage(
    kind: str, description: Mapping[str, Any], *, task_id: str = "", tuning_job: str | None = None
) -> list[JobUsage]:
    """The billed usage of a training, processing or transform job from its Describe answer
    (one entry per instance group of a heterogeneous training cluster); ``CostUnknown`` when the
    answer does not say (a job that has not ended)."""
    if kind == "training":
        job = str(description.get("TrainingJobName", "?"))
        billable = description.get("BillableTimeInSeconds")
        if billable is None:
            raise CostUnknown(f"training job {job} reports no BillableTimeInSeconds")
        training = description.get("TrainingTimeInSeconds")
        resources = description.get("ResourceConfig") or {}
        groups = resources.get("InstanceGroups") or [resources]
        return [
            JobUsage(
                task_id=task_id,
                kind="training",
                job=job,
                instance_type=str(group.get("InstanceType", "?")),
                instance_count=int(group.get("InstanceCount", 1)),
                seconds_per_instance=int(billable),
                training_seconds=int(training) if training is not None else None,
                tuning_job=tuning_job,
            )
            for group in groups
        ]
    if kind == "processing":
        job = str(description.get("ProcessingJobName", "?"))
        cluster = (description.get("ProcessingResources") or {}).get("ClusterConfig") or {}
        seconds = _elapsed(description, "ProcessingStartTime", "ProcessingEndTime", job)
    elif kind == "transform":
        job = str(description.get("TransformJobName", "?"))
        cluster = description.get("TransformResources") or {}
        seconds = _elapsed(description, "TransformStartTime", "TransformEndTime", job)
    else:
        raise CostUnknown(f"no billable time for a {kind} job")
    return [
        JobUsage(
            task_id=task_id,
            kind=kind,
            job=job,
            instance_type=str(cluster.get("InstanceType", "?")),
            instance_count=int(cluster.get("InstanceCount", 1)),
            seconds_per_instance=seconds,
        )
    ]


def job_cost(usage: JobUsage, prices: PriceTable, region: str) -> dict[str, Any]:
    """One job's line of the run's costs: its billable instance-seconds, spot saving, price and
    estimated cost (None, with ``cost_unknown``, when its type is not priced in ``region``)."""
    line: dict[str, Any] = {
        "task_id": usage.task_id,
        "kind": usage.kind,
        "job": usage.job,
        "instance_type": usage.instance_type,
        "instance_count": usage.instance_count,
        "seconds_per_instance": usage.seconds_per_instance,
        "billable_seconds": usage.billable_seconds,
    }
    if usage.tuning_job:
        line["tuning_job"] = usage.tuning_job
    if usage.training_seconds is not None:
        line["training_seconds"] = usage.training_seconds
        if usage.training_seconds > usage.seconds_per_instance:  # managed spot saved
            saved = 1 - usage.seconds_per_instance / usage.training_seconds
            line["spot_savings_percent"] = round(100 * saved, 1)
    hourly, reason = prices.hourly(region, usage.instance_type)
    if hourly is None:
        line |= {"estimated_cost_usd": None, "cost_unknown": reason}
    else:
        cost = usage.billable_seconds * hourly / SECONDS_PER_HOUR
        line |= {"usd_per_hour": hourly, "estimated_cost_usd": round(cost, 6)}
    return line


def unknown_job(task_id: str, job: str, reason: str) -> dict[str, Any]:
    """The line of a job whose usage could not be read."""
    return {
        "task_id": task_id,
        "job": job,
        "billable_seconds": None,
        "estimated_cost_usd": None,
        "cost_unknown": reason,
    }


def cost_summary(lines: list[dict[str, Any]], prices: PriceTable, region: str) -> dict[str, Any]:
    """The run's costs: every job's line, the billable instance-seconds and the estimated cost
    of them all (None with the reasons in ``cost_unknown`` if any job's is unknown)."""
    unknown = [f"{line['job']}: {line['cost_unknown']}" for line in lines if "cost_unknown" in line]
    known = [line["estimated_cost_usd"] for line in lines if "cost_unknown" not in line]
    summary: dict[str, Any] = {
        "jobs": lines,
        "billable_seconds": sum(line.get("billable_seconds") or 0 for line in lines),
        "estimated_cost_usd": None if unknown else round(sum(known), 6),
        "currency": prices.currency,
        "region": region,
        "price_source": prices.label,
    }
    spot = [line for line in lines if "spot_savings_percent" in line]
    if spot:
        summary["spot_saved_seconds"] = sum(
            (line["training_seconds"] - line["seconds_per_instance"]) * line["instance_count"]
            for line in spot
        )
    if unknown:
        summary["cost_unknown"] = unknown
        summary["priced_jobs_cost_usd"] = round(sum(known), 6)
    return summary


# ---------------------------------------------------------------- the run's jobs (I/O)
_DESCRIBED_KINDS = {
    "ProcessingJobName": "processing",
    "TrainingJobName": "training",
    "TransformJobName": "transform",
    "HyperParameterTuningJobName": "tuning",
}


def jobs_in_results(results: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(task id, kind, job name) of every job the operators' XCom results name; a skipped task
    (None) has none. ``{"Transform": ..., "Model": ...}``: the model is no job."""
    for task_id, result in results.items():
        if not isinstance(result, Mapping):
            continue
        for description in result.values():
            found = job_in_request(description)
            if found is not None:
                kind, name = found
                yield task_id, _DESCRIBED_KINDS[kind.name_field], name


def _tuning_children(sagemaker: Any, tuning_job: str) -> list[str]:
    pages = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    return sorted(
        summary["TrainingJobName"]
        for page in pages.paginate(HyperParameterTuningJobName=tuning_job)
        for summary in page.get("TrainingJobSummaries", [])
    )


def _describe(sagemaker: Any, kind: str, name: str) -> dict[str, Any]:
    if kind == "training":
        return dict(sagemaker.describe_training_job(TrainingJobName=name))
    if kind == "processing":
        return dict(sagemaker.describe_processing_job(ProcessingJobName=name))
    return dict(sagemaker.describe_transform_job(TransformJobName=name))


def run_costs(
    sagemaker: Any,
    region: str,
    results: Mapping[str, Any],
    *,
    prices: PriceTable | None = None,
) -> dict[str, Any]:
    """The costs of the jobs the run's tasks started (``results``: task id → its XCom result),
    described afresh (the XCom copies hold timestamps as text, and a job's final billable time).

    A job that cannot be described is reported with its cost unknown, not raised: the costs
    are a report on work already done. A malformed price table raises ``PriceTableError``.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    prices = prices or load_price_table()
    lines: list[dict[str, Any]] = []
    for task_id, kind, name in jobs_in_results(results):
        described: list[tuple[str, dict[str, Any], str | None]]
        try:
            if kind == "tuning":
                described = [
                    ("training", _describe(sagemaker, "training", child), name)
                    for child in _tuning_children(sagemaker, name)
                ]
            else:
                described = [(kind, _describe(sagemaker, kind, name), None)]
        except (BotoCoreError, ClientError) as exc:
            lines.append(unknown_job(task_id, name, f"could not describe the {kind} job: {exc}"))
            continue
        for job_kind, description, tuning_job in described:
            try:
                usages = job_usage(job_kind, description, task_id=task_id, tuning_job=tuning_job)
            except CostUnknown as exc:
                lines.append(unknown_job(task_id, name, str(exc)))
                continue
            lines += [job_cost(usage, prices, region) for usage in usages]
    return cost_summary(lines, prices, region)


# ---------------------------------------------------------------- what a run reports
def _usd(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.4g}"


def cost_metrics(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The notification lines of a run's costs."""
    total = summary["estimated_cost_usd"]
    if total is None:
        cost = f"unknown ({'; '.join(summary.get('cost_unknown', []))})"
        priced = summary.get("priced_jobs_cost_usd")
        if priced:
            cost += f"; the priced jobs: {_usd(priced)} {summary['currency']}"
    else:
        cost = f"{_usd(total)} {summary['currency']} in {summary['region']}"
    metrics = {
        "billable_seconds": summary["billable_seconds"],
        "estimated_cost_usd": cost,
        "price_source": summary["price_source"],
    }
    if "spot_saved_seconds" in summary:
        metrics["spot_saved_seconds"] = summary["spot_saved_seconds"]
    return metrics


def with_costs(outcome: Reported, summary: dict[str, Any]) -> Reported:
    """``outcome`` with the run's costs: ``costs`` in its value (the task's XCom) and the cost
    lines in its notification metrics."""
    return dataclasses.replace(
        outcome,
        value={**outcome.value, "costs": summary},
        metrics={**outcome.metrics, **cost_metrics(summary)},
    )
