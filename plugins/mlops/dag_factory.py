"""Parse-time construction shared by the DAG files: the DAG of one model, its default args, tags
and assets (its params: ``mlops.params``). Kept import-light: DAG files import this at parse time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mlops.config import DAG_KINDS, Model, models_to_generate
from mlops.notifications import on_failure

if TYPE_CHECKING:
    from airflow.sdk import DAG, Asset


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
    from airflow.sdk import Asset

    if model.scheme is None:
        return Asset(name=f"{role}__{model.country}", uri=f"mlops://{role}/{model.country}")
    return Asset(
        name=f"{role}__{model.country}__{model.scheme}",
        uri=f"mlops://{role}/{model.country}/{model.scheme}",
    )


def challenger_asset(model: Model) -> Asset:
    """Emitted by train when it registered a challenger; schedules evaluate."""
    return model_asset("challenger", model)


def winner_asset(model: Model) -> Asset:
    """Emitted by evaluate when the winner changed; schedules deploy with auto_deploy."""
    return model_asset("winner", model)


def asset_ref(asset: Asset) -> Any:
    """A by-name reference to schedule on: hashing a full Asset (json of all its fields) on every
    task relation made DAG construction ~2x slower; a name reference hashes like a string."""
    from airflow.sdk import Asset

    return Asset.ref(name=asset.name)


def model_dag(
    kind: str, model: Model, *, schedule: Any, doc_md: str | None, description: str, **params: Any
) -> DAG:
    """The model's ``<kind>`` DAG with the settings every DAG of the product shares."""
    from airflow.sdk import DAG

    return DAG(
        dag_id=model.dag_id(kind),
        description=description,
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
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
