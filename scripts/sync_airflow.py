#!/usr/bin/env python3
"""sync_airflow: make an Airflow environment match the repository, through MWAA InvokeRestApi.

    python scripts/sync_airflow.py --environment dev [--mwaa-environment NAME]
                                   [--pools-file FILE] [--countries-file FILE] [--dag-wait 10m]

1. The SageMaker pools (plugins/mlops/pools.py) with the environment's sizes from the pools file
   (include/config/pools.yaml), all counting deferred tasks: created when missing, updated when
   they differ. Refused before any change when a model's task needs more slots than its pool has.
2. The four DAGs of every enabled model of the countries file: unpaused when paused (enabling a
   model in the countries file is onboarding; a DAG a person paused is active again after the next
   deployment). A DAG Airflow does not serve yet (MWAA parses new files within a minute or so)
   is asked for again until --dag-wait has passed.

Idempotent: a second run changes nothing and says so. Every change is printed. The environment's
name comes from --mwaa-environment or MWAA_ENVIRONMENT_NAME; AWS access from the usual boto3
environment (in CI: the OIDC web identity role; locally the local stack's AWS_ENDPOINT_URL, whose
MWAA forwards to a local Airflow). Exit status: 0 in sync, 1 refused or failed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

from mlops.config import DAG_KINDS, enabled_models  # noqa: E402
from mlops.pools import POOLS_FILE, Pool, load_pools, oversized_tasks  # noqa: E402
from trigger_dag import (  # noqa: E402 - scripts/ is on sys.path
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    parse_duration,
)

DAG_POLL_SECONDS = 15


class SyncError(Exception):
    """The sync was refused or an Airflow call failed; the message names the call.
    ``transient``: Airflow answered 5xx or not at all, so the call may be tried again."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Airflow:
    """Airflow's REST API (v2) through MWAA InvokeRestApi."""

    def __init__(self, client: Any, environment: str, retry_deadline: float = 120.0) -> None:
        self.client = client
        self.environment = environment
        self.retry_deadline = retry_deadline

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """``call_once``, Airflow's 5xx (or no answer from it) retried for ``retry_deadline``
        seconds with exponential backoff and full jitter: every call here is idempotent (GET,
        PATCH to a value, POST of a pool only after its GET said 404). Hand-written for the same
        reason as trigger_dag's: MWAA wraps Airflow's 5xx in an answer no botocore retry mode
        retries (throttling and connection errors botocore's standard mode does retry)."""
        deadline = time.monotonic() + self.retry_deadline
        attempt = 0
        while True:
            try:
                return self.call_once(method, path, body)
            except SyncError as exc:
                delay = random.uniform(
                    0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
                )
                if not exc.transient or time.monotonic() + delay >= deadline:
                    raise
                attempt += 1
                print(f"transient failure, retry {attempt} in {delay:.1f} s: {exc}", flush=True)
                time.sleep(delay)

    def call_once(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """(Airflow's status, its answer); a 404 is an answer, other errors raise SyncError."""
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Name": self.environment, "Method": method, "Path": path}
        if body is not None:
            kwargs["Body"] = body
        try:
            response = self.client.invoke_rest_api(**kwargs)
        except ClientError as exc:
            status = exc.response.get("RestApiStatusCode")
            answer = exc.response.get("RestApiResponse")
            if status == 404:
                return 404, answer
            error = exc.response.get("Error", {})
            raise SyncError(
                f"{method} {path} on MWAA environment {self.environment}: "
                f"{error.get('Code')} {status or ''} {answer or error.get('Message', '')}",
                transient=isinstance(status, int) and status >= 500,
            ) from exc
        except BotoCoreError as exc:
            raise SyncError(
                f"{method} {path} on MWAA environment {self.environment}: {exc}"
            ) from exc
        return response["RestApiStatusCode"], response.get("RestApiResponse") or {}


def sync_pools(airflow: Airflow, pools: list[Pool]) -> list[str]:
    """Create or update each pool; the changes made."""
    changes = []
    for pool in pools:
        path = f"/pools/{quote(pool.name, safe='')}"
        status, current = airflow.call("GET", path)
        if status == 404:
            airflow.call("POST", "/pools", {"name": pool.name, **pool.settings()})
            changes.append(
                f"pool {pool.name}: created with {pool.slots} slots, include_deferred=true"
            )
            continue
        wanted = pool.settings()
        differs = {
            key: (current.get(key), value)
            for key, value in wanted.items()
            if current.get(key) != value
        }
        if differs:
            # Airflow validates a pool PATCH as a whole pool: every field, the name as "pool".
            airflow.call("PATCH", path, {"pool": pool.name, **wanted})
            changes.append(
                f"pool {pool.name}: "
                + ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in differs.items())
            )
    return changes


def unpause_dags(airflow: Airflow, dag_ids: list[str], wait_seconds: float) -> list[str]:
    """Unpause each paused DAG; waits up to ``wait_seconds`` for DAGs Airflow does not serve yet."""
    changes = []
    pending = list(dag_ids)
    deadline = time.monotonic() + wait_seconds
    while True:
        missing = []
        for dag_id in pending:
            path = f"/dags/{quote(dag_id, safe='')}"
            status, dag = airflow.call("GET", path)
            if status == 404:
                missing.append(dag_id)
            elif dag.get("is_paused"):
                airflow.call("PATCH", path, {"is_paused": False})
                changes.append(f"dag {dag_id}: unpaused")
        if not missing:
            return changes
        if time.monotonic() >= deadline:
            raise SyncError(
                f"Airflow does not serve {', '.join(missing)} (after {wait_seconds:.0f} s): are "
                "the DAG files synced and free of import errors? (Airflow UI: DAG import errors)"
            )
        print(f"waiting for Airflow to parse {', '.join(missing)}", flush=True)
        pending = missing
        time.sleep(min(DAG_POLL_SECONDS, max(deadline - time.monotonic(), 0)))


def mwaa_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "mwaa", config=Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard"})
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sync_airflow",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--environment", required=True, help="pools file environment, e.g. dev")
    parser.add_argument(
        "--mwaa-environment",
        default=os.environ.get("MWAA_ENVIRONMENT_NAME"),
        help="MWAA environment name (default: $MWAA_ENVIRONMENT_NAME)",
    )
    parser.add_argument("--pools-file", type=Path, default=POOLS_FILE)
    parser.add_argument(
        "--countries-file", type=Path, help="default: the library's ($MLOPS_COUNTRIES_FILE, ...)"
    )
    parser.add_argument(
        "--retry-deadline",
        type=parse_duration,
        default=120.0,
        help="how long one Airflow call may be retried after a 5xx (default 2m)",
    )
    parser.add_argument(
        "--dag-wait",
        type=parse_duration,
        default=0.0,
        help="how long to wait for DAGs Airflow does not serve yet (default 0: fail at once)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.mwaa_environment:
        print("sync_airflow: pass --mwaa-environment or set MWAA_ENVIRONMENT_NAME", file=sys.stderr)
        return 1
    try:
        pools = load_pools(args.environment, args.pools_file)
        models = enabled_models(args.countries_file)
        too_big = oversized_tasks(pools, models)
        if too_big:
            raise SyncError(
                f"{args.pools_file}, environment '{args.environment}': tasks that would never run:"
                "\n  " + "\n  ".join(too_big)
            )
        airflow = Airflow(mwaa_client(), args.mwaa_environment, args.retry_deadline)
        dag_ids = [model.dag_id(kind) for model in models for kind in DAG_KINDS]
        changes = sync_pools(airflow, pools)
        changes += unpause_dags(airflow, dag_ids, args.dag_wait)
    except (SyncError, ValueError) as exc:  # ValueError: the pools or countries file
        print(f"sync_airflow: {exc}", file=sys.stderr)
        return 1
    for change in changes:
        print(change)
    summary = f"{len(changes)} change(s)" if changes else "nothing to change"
    print(
        f"{args.mwaa_environment}: {summary}; {len(pools)} pools and {len(dag_ids)} DAGs "
        f"({len(models)} models) in sync"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
