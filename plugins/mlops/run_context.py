"""What a task reads from its Airflow context at run time: the run's moment, start and events.

The DAG files' tasks unpack their context with these and hand plain values to ``mlops.steps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops.steps import RunMonth


def previous_month(moment: datetime) -> str:
    """``YYYY-MM`` of the calendar month before ``moment``'s."""
    first = moment.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def data_month(param: str, context: Mapping[str, Any]) -> str:
    """The ``data_month`` param, else the month before the run's moment (``run_moment``)."""
    return param or previous_month(run_moment(context))


def run_moment(context: Mapping[str, Any]) -> datetime:
    """The run's data interval end, or now for runs without one (API/UI-triggered)."""
    end = context.get("data_interval_end")
    return end if isinstance(end, datetime) else datetime.now(UTC)


def run_started_at(context: Mapping[str, Any]) -> str:
    """When the DAG run started (ISO, UTC): orders runs for the winners table."""
    started = getattr(context.get("dag_run"), "start_date", None) or datetime.now(UTC)
    return str(started.astimezone(UTC).isoformat())


def triggering_extras(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The extras of the asset events that triggered the run, oldest first (none: manual)."""
    events = context.get("triggering_asset_events") or {}
    return [dict(event.extra or {}) for group in events.values() for event in group]


def month_or_skip(chosen: RunMonth) -> str:
    """The chosen month; or skip the run (its first task, so nothing downstream starts), saying
    why, when there is none. What the events held that was not a marker is logged as a warning."""
    import logging

    log = logging.getLogger("mlops.landing")
    for item in chosen.ignored:
        log.warning("landing event ignored: %s", item)
    if chosen.month is None:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(chosen.reason)
    log.info("data month %s: %s", chosen.month, chosen.reason)
    return chosen.month


def task_results(context: Mapping[str, Any], task_ids: tuple[str, ...]) -> dict[str, Any]:
    """The return values (XCom) of ``task_ids`` in this run: None for a skipped task."""
    pull = context["ti"].xcom_pull
    return {task_id: pull(task_ids=task_id) for task_id in task_ids}
