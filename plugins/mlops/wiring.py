"""What every DAG file shares: default args, assets, run identity, AWS handles, wait sizing.

Kept import-light: DAG files import this at parse time.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops.naming import MAX_NAME, MAX_TUNING_NAME, RunIdentity, with_retry_suffix
from mlops.notifications import on_failure

AWS_CONN_ID = "aws_default"
# Extra polls on top of MaxRuntime / interval: queueing and instance start are not runtime.
WAIT_SLACK_ATTEMPTS = 30
DEFAULT_POLL_SECONDS = 60
MONTH_PARAM_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2]))?$"


def default_args(country: Any) -> dict[str, Any]:
    return {
        "owner": country.owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_failure(),
    }


def dag_tags(kind: str, country: Any) -> list[str]:
    return ["mlops", kind, f"country:{country.code}", country.training.accelerator]


def challenger_asset(country_code: str):
    from airflow.sdk import Asset

    return Asset(name=f"challenger__{country_code}", uri=f"mlops://challenger/{country_code}")


def asset_ref(asset):
    """A by-name reference to schedule on: hashing a full Asset (json of all its fields) on every
    task relation made DAG construction ~2x slower; a name reference hashes like a string."""
    from airflow.sdk import Asset

    return Asset.ref(name=asset.name)


def winner_asset(country_code: str):
    from airflow.sdk import Asset

    return Asset(name=f"winner__{country_code}", uri=f"mlops://winner/{country_code}")


def previous_month(moment: datetime) -> str:
    first = moment.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def current_month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def run_moment(context: Any) -> datetime:
    """The run's data interval end, or now for runs without one (API/UI-triggered)."""
    end = context.get("data_interval_end")
    return end if end is not None else datetime.now(UTC)


def run_identity(context: Any, data_month: str, code_version: str) -> RunIdentity:
    return RunIdentity(run_id=context["run_id"], data_month=data_month, code_version=code_version)


def run_started_at(context: Any) -> str:
    """When the DAG run started (ISO, UTC): orders runs for the winners table."""
    started = getattr(context.get("dag_run"), "start_date", None) or datetime.now(UTC)
    return started.astimezone(UTC).isoformat()


def aws_client(service: str):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type=service).get_conn()


def winners_table(table_name: str):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=AWS_CONN_ID, resource_type="dynamodb")
    return hook.get_conn().Table(table_name)


def read_s3_text(uri: str) -> str:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=AWS_CONN_ID).read_key(uri)


def size_waits(context: Any, *, max_runtime_seconds: int, rename_field: str | None = None) -> None:
    """pre_execute hook of every SageMaker operator and sensor.

    Sets the poll interval from the settings (known only at run time) and sizes ``max_attempts``
    to the job's MaxRuntimeInSeconds (the provider's default gives up after ~30 min). For operators
    that do not rename an existing resource on retry (tuning, model, endpoint config), suffixes
    ``rename_field`` with the try number so a retry does not collide with the first attempt.
    """
    from mlops.settings import load_settings

    task = context["task"]
    interval = load_settings().poll_interval_seconds
    attempts = math.ceil(max_runtime_seconds / interval) + WAIT_SLACK_ATTEMPTS
    if hasattr(task, "check_interval"):
        task.check_interval = interval
    if hasattr(task, "poke_interval"):
        task.poke_interval = interval
    if hasattr(task, "max_attempts"):
        task.max_attempts = attempts
    if hasattr(task, "max_ingestion_time"):
        task.max_ingestion_time = max_runtime_seconds + WAIT_SLACK_ATTEMPTS * interval
    try_number = context["ti"].try_number
    config = getattr(task, "config", None)
    if isinstance(config, dict) and try_number > 1:
        refuse_duplicate_job(aws_client("sagemaker"), config)
    if rename_field:
        limit = MAX_TUNING_NAME if rename_field == "HyperParameterTuningJobName" else MAX_NAME
        config[rename_field] = with_retry_suffix(config[rename_field], try_number, limit)


# name field of a job request -> (list operation, summaries key)
_JOB_LISTS = {
    "ProcessingJobName": ("list_processing_jobs", "ProcessingJobSummaries"),
    "TrainingJobName": ("list_training_jobs", "TrainingJobSummaries"),
    "TransformJobName": ("list_transform_jobs", "TransformJobSummaries"),
    "HyperParameterTuningJobName": (
        "list_hyper_parameter_tuning_jobs",
        "HyperParameterTuningJobSummaries",
    ),
}


class DuplicateJobRefused(RuntimeError):
    """A retry found the job of an earlier try still running."""


def refuse_duplicate_job(sagemaker: Any, config: dict[str, Any]) -> None:
    """Fail a retried task clearly while the job an earlier try started is still running.

    On retry the provider's operators start a new job (renamed with a timestamp, or our -r<try>
    suffix for tuning), and no operator stops the old one: without this check a worker lost
    mid-wait would leave two jobs billing. So a retry refuses to start while any job of this
    task's name is InProgress or Stopping; the next retry (or a manual clear) goes ahead once it
    has ended — its StoppingCondition bounds how long that can take.
    """
    for field_name, (operation, summaries) in _JOB_LISTS.items():
        name = config.get(field_name)
        if not name:
            continue
        base = re.sub(r"-r\d+$", "", name)
        list_jobs = getattr(sagemaker, operation)
        running = [
            summary[field_name]
            for status in ("InProgress", "Stopping")
            for summary in list_jobs(NameContains=base, StatusEquals=status)[summaries]
        ]
        if running:
            raise DuplicateJobRefused(
                f"{field_name} {', '.join(sorted(running))} from an earlier try of this task is "
                f"still running: not starting a second job (SageMaker would bill both). Wait for "
                f"it to end (its StoppingCondition bounds it) or stop it, then clear this task."
            )


def waits(max_runtime_seconds: int, rename_field: str | None = None):
    """The pre_execute hook for an operator whose job may run ``max_runtime_seconds``."""
    return functools.partial(
        size_waits, max_runtime_seconds=max_runtime_seconds, rename_field=rename_field
    )


def month_param(what: str):
    from airflow.sdk import Param

    return Param(
        "",
        type="string",
        pattern=MONTH_PARAM_PATTERN,
        title="Data month",
        description=f"YYYY-MM of the {what} data; empty: the previous month",
    )


def model_package_param(description: str):
    from airflow.sdk import Param

    return Param(
        "",
        type="string",
        pattern=r"^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/.+)?$",
        title="Model package ARN",
        description=description,
    )


def country_dag(kind: str, country: Any, *, schedule: Any, doc_md: str, description: str, **params):
    """The ``<kind>__<cc>`` DAG with the settings every DAG of the product shares."""
    from airflow.sdk import DAG

    return DAG(
        dag_id=f"{kind}__{country.code}",
        description=description,
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=default_args(country),
        tags=dag_tags(kind, country),
        doc_md=doc_md,
        params=params,
    )
