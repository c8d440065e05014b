"""scripts/sync_airflow.py as a GitLab job runs it, against the real Airflow API server through
the local stack's MWAA InvokeRestApi: pools created or resized, DAGs unpaused, nothing twice."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
import yaml
from mlops.config import DAG_KINDS, enabled_models

from tests.support.trigger import MWAA_ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "sync_airflow.py"
POOLS_FILE = REPO / "include" / "config" / "pools.yaml"
ENVIRONMENT = "local"


def sync(stack, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(stack.environ())
    env["MWAA_ENVIRONMENT_NAME"] = MWAA_ENVIRONMENT
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--environment", ENVIRONMENT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def pool(airflow_api, name: str) -> dict | None:
    try:
        return airflow_api.call("GET", f"/pools/{name}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


@pytest.fixture
def drifted(airflow_api):
    """An environment out of sync: a pool too small and not counting deferred tasks, one
    missing, two DAGs a person paused."""
    for name in ("sagemaker_training", "sagemaker_tuning"):
        if pool(airflow_api, name) is not None:
            airflow_api.call("DELETE", f"/pools/{name}")
    airflow_api.call(
        "POST", "/pools", {"name": "sagemaker_training", "slots": 1, "include_deferred": False}
    )
    for dag_id in ("train__de", "deploy__gb"):
        airflow_api.call("PATCH", f"/dags/{dag_id}", {"is_paused": True})


def test_sync_creates_and_resizes_pools_and_unpauses_every_models_dags(stack, airflow_api, drifted):
    done = sync(stack)
    assert done.returncode == 0, done.stderr
    assert "pool sagemaker_tuning: created" in done.stdout
    assert "pool sagemaker_training: slots 1 ->" in done.stdout
    assert "include_deferred False -> True" in done.stdout
    assert "dag train__de: unpaused" in done.stdout
    assert "dag deploy__gb: unpaused" in done.stdout

    sizes = yaml.safe_load(POOLS_FILE.read_text())["environments"][ENVIRONMENT]
    for family, slots in sizes.items():
        served = pool(airflow_api, f"sagemaker_{family}")
        assert served is not None, f"pool sagemaker_{family} missing"
        assert (served["slots"], served["include_deferred"]) == (slots, True), family
    for model in enabled_models():
        for kind in DAG_KINDS:
            dag_id = model.dag_id(kind)
            assert airflow_api.call("GET", f"/dags/{dag_id}")["is_paused"] is False, dag_id

    again = sync(stack)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"{MWAA_ENVIRONMENT}: nothing to change; {len(sizes)} pools and "
        f"{4 * len(enabled_models())} DAGs ({len(enabled_models())} models) in sync"
    ]


def test_a_task_bigger_than_its_pool_is_refused_before_any_change(stack, airflow_api, tmp_path):
    sizes = yaml.safe_load(POOLS_FILE.read_text())["environments"][ENVIRONMENT]
    small = tmp_path / "pools.yaml"
    small.write_text(yaml.safe_dump({"environments": {ENVIRONMENT: sizes | {"tuning": 1}}}))
    airflow_api.call("PATCH", "/dags/evaluate__fr", {"is_paused": True})
    try:
        done = sync(stack, "--pools-file", str(small))
        assert done.returncode == 1
        assert "model 'de', task tune: needs 2 slots of pool sagemaker_tuning, which has 1" in (
            done.stderr
        )
        assert airflow_api.call("GET", "/dags/evaluate__fr")["is_paused"] is True
    finally:
        airflow_api.call("PATCH", "/dags/evaluate__fr", {"is_paused": False})


def test_a_model_airflow_does_not_serve_fails_naming_its_dags(stack, tmp_path):
    countries = tmp_path / "countries.yaml"
    countries.write_text("countries:\n  - {code: nl, code_table_version: v1}\n")
    done = sync(stack, "--countries-file", str(countries))
    assert done.returncode == 1
    assert "Airflow does not serve train__nl, evaluate__nl, deploy__nl, batch_inference__nl" in (
        done.stderr
    )


def test_sync_retries_airflow_5xx_and_gives_up_at_its_deadline(stack, airflow_api, flaky_airflow):
    # Airflow answers 500 twice to the first pool read: the sync retries and completes.
    plan = flaky_airflow.fail("GET", r"/pools/sagemaker_processing$", 2)
    done = sync(stack)
    assert done.returncode == 0, done.stderr
    assert plan.hits == 2
    assert "transient failure, retry 2 in" in done.stdout
    # Failing for good: it stops at --retry-deadline, naming the call.
    flaky_airflow.fail("GET", r"/pools/sagemaker_processing$", None)
    done = sync(stack, "--retry-deadline", "3s")
    assert done.returncode == 1
    assert "GET /pools/sagemaker_processing" in done.stderr
