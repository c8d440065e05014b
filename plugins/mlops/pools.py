"""Airflow pools for the SageMaker quotas: SageMaker jobs queue in Airflow instead of failing.

One pool per SageMaker job family (``sagemaker_processing``, ``sagemaker_tuning``, ...). A slot is
one instance of the family in use at once (``api``: one control-plane call), so a task holds as
many slots as its job starts instances: ``tune`` holds ``max_parallel_jobs × instance_count``,
``train_model`` ``instance_count``, ``batch_transform`` ``batch_inference.instance_count``. Every
pool counts deferred tasks (``include_deferred``): the SageMaker operators defer while their job
runs, and a pool that released the slot then would limit nothing.

Pool names are fixed (the DAGs name them at parse time); their sizes are the account's quotas, one
set per Airflow environment, in the pools file (``include/config/pools.yaml``), applied by
``scripts/sync_airflow.py``. Parse time imports this module: nothing here reads a file then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops.config import Model

POOLS_FILE = Path(__file__).resolve().parents[2] / "include" / "config" / "pools.yaml"
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"


class PoolsConfigError(ValueError):
    """The pools file is missing or invalid, or a task needs more slots than its pool has."""


@dataclass(frozen=True)
class Family:
    """One SageMaker job family and what a slot of its pool stands for."""

    name: str
    unit: str

    @property
    def pool(self) -> str:
        return f"sagemaker_{self.name}"

    @property
    def description(self) -> str:
        return f"SageMaker {self.name} quota: one slot per {self.unit} (scripts/sync_airflow.py)"


FAMILIES = {
    family.name: family
    for family in (
        Family("processing", "processing instance"),
        Family("tuning", "training instance a tuning job runs at once"),
        Family("training", "training instance"),
        Family("transform", "batch transform instance"),
        Family("hosting", "endpoint instance being deployed (serverless: one endpoint)"),
        Family("api", "model or endpoint config being created"),
    )
}


def _one(model: Model) -> int:
    return 1


def _hosting_slots(model: Model) -> int:
    return 1 if model.endpoint.serverless else model.endpoint.instance_count


# SageMaker task id → (family, slots it holds for ``model``). Processing jobs and the evaluation
# transforms run one instance (sagemaker_requests).
TASK_POOLS: dict[str, tuple[str, Callable[[Model], int]]] = {
    "prepare_data": ("processing", _one),
    "evaluate_models": ("processing", _one),
    "postprocess": ("processing", _one),
    "tune": (
        "tuning",
        lambda model: model.training.hpo.max_parallel_jobs * model.training.instance_count,
    ),
    "train_model": ("training", lambda model: model.training.instance_count),
    "transform_challenger": ("transform", _one),
    "transform_champion": ("transform", _one),
    "transform_challenger_golden": ("transform", _one),
    "transform_champion_golden": ("transform", _one),
    "batch_transform": ("transform", lambda model: model.batch_inference.instance_count),
    "deploy_endpoint": ("hosting", _hosting_slots),
    "create_model": ("api", _one),
    "create_endpoint_config": ("api", _one),
}


def task_slots(model: Model, task_id: str) -> tuple[str, int]:
    """(pool, slots) the SageMaker task ``task_id`` of ``model`` holds while it runs."""
    try:
        family, slots = TASK_POOLS[task_id]
    except KeyError:
        raise KeyError(
            f"SageMaker task '{task_id}' has no pool in mlops.pools.TASK_POOLS: add it there"
        ) from None
    return FAMILIES[family].pool, slots(model)


def pool_args(model: Model, task_id: str) -> dict[str, Any]:
    """The operator kwargs of a SageMaker task: ``pool`` and ``pool_slots``."""
    pool, slots = task_slots(model, task_id)
    return {"pool": pool, "pool_slots": slots}


class _Sizes(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    processing: int = Field(ge=1)
    tuning: int = Field(ge=1)
    training: int = Field(ge=1)
    transform: int = Field(ge=1)
    hosting: int = Field(ge=1)
    api: int = Field(ge=1)


class _PoolsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    environments: dict[str, _Sizes]


@dataclass(frozen=True)
class Pool:
    """A pool as the Airflow REST API takes it."""

    name: str
    slots: int
    description: str
    include_deferred: bool = True

    def settings(self) -> dict[str, Any]:
        """Its fields as the API names them, but the name."""
        return {
            "slots": self.slots,
            "description": self.description,
            "include_deferred": self.include_deferred,
        }


def load_pools(environment: str, path: Path = POOLS_FILE) -> list[Pool]:
    """The pools of ``environment`` from the pools file; errors name file, environment, field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PoolsConfigError(f"{path}: pools file not found") from None
    except yaml.YAMLError as exc:
        raise PoolsConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        parsed = _PoolsFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(map(str, err['loc'])) or '-'}': {err['msg']}" for err in exc.errors()
        )
        raise PoolsConfigError(f"{path}: invalid pools file: {problems}") from None
    for name in parsed.environments:
        if not re.match(ENVIRONMENT_PATTERN, name):
            raise PoolsConfigError(f"{path}: environment '{name}' must match {ENVIRONMENT_PATTERN}")
    if environment not in parsed.environments:
        raise PoolsConfigError(
            f"{path}: no pools for environment '{environment}' "
            f"(it has: {', '.join(sorted(parsed.environments)) or 'none'})"
        )
    sizes = parsed.environments[environment]
    return [
        Pool(family.pool, getattr(sizes, name), family.description)
        for name, family in FAMILIES.items()
    ]


def oversized_tasks(pools: Iterable[Pool], models: Iterable[Model]) -> list[str]:
    """Each SageMaker task of ``models`` needing more slots than its pool has (it would never
    run: Airflow does not start a task asking for more slots than the pool's total)."""
    sizes = {pool.name: pool.slots for pool in pools}
    problems = []
    for model in models:
        for task_id in TASK_POOLS:
            pool, slots = task_slots(model, task_id)
            if slots > sizes[pool]:
                problems.append(
                    f"model '{model.key}', task {task_id}: needs {slots} slots of pool {pool}, "
                    f"which has {sizes[pool]}"
                )
    return problems
