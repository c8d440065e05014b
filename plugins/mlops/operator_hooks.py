"""The ``pre_execute`` hooks of the SageMaker operators and the sensors in the DAGs.

It runs at task start, when the settings (poll interval) and the try number are known:
``prepare_sagemaker_task(...)`` sizes the operator's waits to the job's MaxRuntimeInSeconds (the
provider's default gives up after ~30 min), refuses a retry while the earlier try's job still runs
(``mlops.retry_guard``), and gives a retry of an operator that does not rename existing resources
(tuning, model, endpoint config) a new name with the try number. ``prepare_sensor(...)`` sets a
sensor's poll interval.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from mlops.naming import MAX_NAME, MAX_TUNING_NAME, with_retry_suffix

# Extra polls on top of MaxRuntime / interval: queueing and instance start are not runtime.
WAIT_SLACK_ATTEMPTS = 30

PreExecuteHook = Callable[[Mapping[str, Any]], None]


def size_waits(task: Any, *, poll_interval_seconds: int, max_runtime_seconds: int) -> None:
    """Poll every ``poll_interval_seconds`` and keep polling past ``max_runtime_seconds``."""
    attempts = math.ceil(max_runtime_seconds / poll_interval_seconds) + WAIT_SLACK_ATTEMPTS
    if hasattr(task, "check_interval"):
        task.check_interval = poll_interval_seconds
    if hasattr(task, "poke_interval"):
        task.poke_interval = poll_interval_seconds
    if hasattr(task, "max_attempts"):
        task.max_attempts = attempts
    if hasattr(task, "max_ingestion_time"):
        task.max_ingestion_time = max_runtime_seconds + WAIT_SLACK_ATTEMPTS * poll_interval_seconds


def _prepare_sensor(context: Mapping[str, Any], *, timeout_seconds: int) -> None:
    from mlops.settings import load_settings

    size_waits(
        context["task"],
        poll_interval_seconds=load_settings().poll_interval_seconds,
        max_runtime_seconds=timeout_seconds,
    )


def prepare_sensor(timeout_seconds: int) -> PreExecuteHook:
    """The pre_execute hook for a sensor waiting up to ``timeout_seconds``: its poll interval."""
    return functools.partial(_prepare_sensor, timeout_seconds=timeout_seconds)


def tuning_limit(request: Any) -> int:
    """A tuning request's own MaxRuntimeInSeconds (0 for any other request): it follows the run's
    HPO budget params, which the parse-time figure cannot know."""
    if not isinstance(request, dict):
        return 0
    limits = request.get("HyperParameterTuningJobConfig", {}).get("ResourceLimits", {})
    return int(limits.get("MaxRuntimeInSeconds") or 0)


def _prepare(
    context: Mapping[str, Any], *, max_runtime_seconds: int, rename_field: str | None
) -> None:
    from mlops.aws import aws_client
    from mlops.retry_guard import refuse_duplicate_job
    from mlops.settings import load_settings

    task = context["task"]
    request = getattr(task, "config", None)
    size_waits(
        task,
        poll_interval_seconds=load_settings().poll_interval_seconds,
        max_runtime_seconds=max(max_runtime_seconds, tuning_limit(request)),
    )
    try_number = context["ti"].try_number
    if isinstance(request, dict) and try_number > 1:
        refuse_duplicate_job(aws_client("sagemaker"), request)
    if rename_field and isinstance(request, dict):
        limit = MAX_TUNING_NAME if rename_field == "HyperParameterTuningJobName" else MAX_NAME
        request[rename_field] = with_retry_suffix(request[rename_field], try_number, limit)


def prepare_sagemaker_task(
    max_runtime_seconds: int, rename_field: str | None = None
) -> PreExecuteHook:
    """The pre_execute hook for a task whose job may run ``max_runtime_seconds``.

    ``rename_field``: the request's name field to suffix with the try number on a retry, for
    operators that do not rename an existing resource themselves.
    """
    return functools.partial(
        _prepare, max_runtime_seconds=max_runtime_seconds, rename_field=rename_field
    )
