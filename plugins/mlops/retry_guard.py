"""A retried task must not start a second SageMaker job while the first try's job still runs.

On retry the provider's operators start a new job (renamed with a timestamp, or our ``-r<try>``
suffix for tuning), and no operator stops the old one: without this check a worker lost mid-wait
would leave two jobs billing.
"""

from __future__ import annotations

from typing import Any

from mlops.naming import without_retry_suffix
from mlops.sagemaker_jobs import job_in_request

RUNNING_STATUSES = ("InProgress", "Stopping")


class DuplicateJobRefused(RuntimeError):
    """A retry found the job of an earlier try still running."""


def refuse_duplicate_job(sagemaker: Any, request: Any) -> None:
    """Raise while a job of this request's name (any try) is InProgress or Stopping.

    The next retry (or a manual clear) goes ahead once it has ended — its StoppingCondition bounds
    how long that can take. Requests that start no job (Model, EndpointConfig) pass.
    """
    found = job_in_request(request)
    if found is None:
        return
    kind, name = found
    list_jobs = getattr(sagemaker, kind.list_operation)
    running = [
        summary[kind.name_field]
        for status in RUNNING_STATUSES
        for summary in list_jobs(NameContains=without_retry_suffix(name), StatusEquals=status)[
            kind.summaries_key
        ]
    ]
    if running:
        raise DuplicateJobRefused(
            f"{kind.name_field} {', '.join(sorted(running))} from an earlier try of this task is "
            f"still running: not starting a second job (SageMaker would bill both). Wait for "
            f"it to end (its StoppingCondition bounds it) or stop it, then clear this task."
        )
