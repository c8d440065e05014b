"""local/airflow_cluster.py: Airflow's real components on PostgreSQL, as MWAA runs them.

One cluster for the module: it parses this repository's DAGs plus ``fixture_dags/`` (a Python
task, then a task that defers to a TimeDeltaTrigger), runs that DAG through the scheduler, a
LocalExecutor worker and the triggerer, and the last test stops it and looks for leftovers.
"""

import os
from pathlib import Path

import psutil
import pytest
from mlops.config import DAG_KINDS, enabled_models

from local.airflow_cluster import AirflowCluster

REPO = Path(__file__).resolve().parents[2]
FIXTURE_DAGS = Path(__file__).resolve().parent / "fixture_dags"
SMOKE = "cluster_smoke"


def _alive(process: psutil.Process) -> bool:
    """Running, and not a zombie (an exited child that this container's init never reaped)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _repository_dag_ids() -> set[str]:
    return {model.dag_id(kind) for model in enabled_models() for kind in DAG_KINDS}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="mlops-test-", dir="/tmp"))
    scratch.chmod(0o711)
    dags = scratch / "dags"
    dags.mkdir()
    for source in [*sorted((REPO / "dags").glob("*.py")), *sorted(FIXTURE_DAGS.glob("*.py"))]:
        (dags / source.name).symlink_to(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env |= {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
    }
    running = AirflowCluster(
        scratch / "cluster", env, expect_dags=_repository_dag_ids() | {SMOKE}, parallelism=2
    )
    with running:
        yield running
    shutil.rmtree(scratch, ignore_errors=True)


def test_parses_the_repository_dags_without_import_errors(cluster):
    assert _repository_dag_ids() <= cluster.api.dag_ids()
    assert cluster.api.call("GET", "/importErrors")["import_errors"] == []


def test_runs_a_dag_through_scheduler_worker_and_triggerer(cluster):
    cluster.api.trigger_dag(SMOKE, {"word": "quokka"}, run_id="smoke-1")
    result = cluster.api.wait_for_run(SMOKE, "smoke-1", timeout=300)
    assert (result.state, result.task_states()) == (
        "success",
        {"echo": "success", "defer": "success"},
    )
    xcoms = {
        task: cluster.api.call(
            "GET", f"/dags/{SMOKE}/dagRuns/smoke-1/taskInstances/{task}/xcomEntries/return_value"
        )["value"]
        for task in ("echo", "defer")
    }
    # "defer" only returns from its resume method, after the triggerer fired its trigger
    assert xcoms == {"echo": "quokka", "defer": "resumed after the trigger fired"}
    assert [run["dag_run_id"] for run in cluster.api.runs(SMOKE)] == ["smoke-1"]


def test_every_listener_is_on_loopback(cluster):
    listeners = []
    for process in cluster.processes():
        try:
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    listeners.append((process.name(), connection.laddr.ip, connection.laddr.port))
        except psutil.NoSuchProcess:
            continue
    assert ("127.0.0.1", cluster.port) in {(ip, port) for _, ip, port in listeners}
    assert [entry for entry in listeners if entry[1] != "127.0.0.1"] == []


def test_stopping_leaves_no_process(cluster):
    seen = cluster.processes()
    assert len(seen) >= len(cluster.components)
    cluster.stop()
    assert [process for process in seen if _alive(process)] == []
    for process in psutil.process_iter(["cmdline"]):
        try:
            mentions = str(cluster.directory) in " ".join(process.info["cmdline"] or [])
            home = process.environ().get("AIRFLOW_HOME") == str(cluster.home)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        assert not (mentions or home), f"left running: {process.pid} {process.info['cmdline']}"
