"""Parse-time construction shared by the DAG files: the DAG of one model, its default args, tags
and assets (its params: ``mlops.params``). Kept import-light: DAG files import this at parse time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset

from mlops.assets import ProductAsset
from mlops.config import DAG_KINDS, Model, models_to_generate
from mlops.notifications import on_failure

if TYPE_CHECKING:
    from airflow.sdk import DAG


def default_args(model: Model) -> dict[str, Any]:
    return {
        "owner": model.owner,
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": on_failure(),
    }


def dag_tags(kind: str, model: Model) -> list[str]:
    """``mlops``, the kind, ``country:<cc>``, ``scheme:<scheme>`` (scheme models), accelerator."""
    scheme = [] if model.scheme is None else [f"scheme:{model.scheme}"]
    return ["mlops", kind, f"country:{model.country}", *scheme, model.training.accelerator]


def model_asset(role: str, model: Model) -> Asset:
    """The ``challenger`` or ``winner`` asset of a model.

    ``<role>__de`` / ``mlops://<role>/de`` for a default model, ``<role>__de__batteries`` /
    ``mlops://<role>/de/batteries`` for a scheme's.
    """
    if model.scheme is None:
        return ProductAsset(name=f"{role}__{model.country}", uri=f"mlops://{role}/{model.country}")
    return ProductAsset(
        name=f"{role}__{model.country}__{model.scheme}",
        uri=f"mlops://{role}/{model.country}/{model.scheme}",
    )


def challenger_asset(model: Model) -> Asset:
    """Emitted by train when it registered a challenger; schedules evaluate."""
    return model_asset("challenger", model)


def winner_asset(model: Model) -> Asset:
    """Emitted by evaluate when the winner changed; schedules deploy with auto_deploy."""
    return model_asset("winner", model)


def fallback_cron(model: Model) -> str:
    """A monthly cron for a model's batch fallback, staggered by its key: the 2nd of the month
    between 06:00 and 11:59 UTC, the same minute on every parse (crc32, not Python's salted
    hash), so 60 models do not all start at once."""
    slot = zlib.crc32(model.key.encode()) % (6 * 60)
    return f"{slot % 60} {6 + slot // 60} 2 * *"


def landing_schedule(model: Model, data_kind: str, cron: str | None) -> Any:
    """The model's landing asset (watched on its SQS queue, mlops.events), or that asset or
    ``cron`` (a fallback: the run finds the month done and skips) when a cron is given."""
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    from mlops.events import landing_asset

    asset = landing_asset(model, data_kind)
    if cron is None:
        return asset
    return AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=asset)


def model_dag(
    kind: str, model: Model, *, schedule: Any, doc_md: str | None, description: str, **params: Any
) -> DAG:
    """The model's ``<kind>`` DAG with the settings every DAG of the product shares."""
    from airflow.sdk import DAG

    return DAG(
        dag_id=model.dag_id(kind),
        description=description,
        schedule=schedule,
        # No start_date: a cron fallback then waits for its next time after onboarding instead
        # of running the most recent one at once (CronTriggerTimetable's run_immediately=False
        # applies only without a start_date); runs are never backfilled (catchup=False).
        catchup=False,
        max_active_runs=1,
        # Onboarding is enabling the model in the countries file: its four DAGs start active
        # together (a person may pause one; the emitting tasks then report it loudly).
        is_paused_upon_creation=False,
        default_args=default_args(model),
        tags=dag_tags(kind, model),
        doc_md=doc_md,
        params=params,
    )


def generate_dags(kind: str, build_dag: Callable[[Model], DAG]) -> dict[str, DAG]:
    """``{dag_id: DAG}`` of ``kind`` for every model this parse builds (a DAG file's globals)."""
    if kind not in DAG_KINDS:
        raise ValueError(f"DAG kind '{kind}' is not one of {', '.join(DAG_KINDS)}")
    from airflow.sdk import get_parsing_context

    return {
        model.dag_id(kind): build_dag(model)
        for model in models_to_generate(kind, get_parsing_context().dag_id)
    }
