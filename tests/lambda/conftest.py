"""A real Airflow 3.3.1 API server and the local stack with the trigger Lambda deployed.

Airflow: its own AIRFLOW_HOME in a temp dir, PostgreSQL (local/postgres.py: concurrent writes
are safe, unlike SQLite), ``airflow db migrate``, a DAGs folder with
this repository's dags/*.py (linked) and ``fixture_dags/`` (look-alike ids the allowlist must
refuse), serialized with ``airflow dags reserialize``, ``airflow api-server`` on a free
loopback port with the simple auth manager (one admin user whose password the test writes).
No scheduler runs: runs stay ``queued`` until a test sets their state through the API. The DAGs
are unpaused once (the trigger Lambda refuses a paused DAG; tests of that pause one themselves).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.airflow_env import database_environ
from local.postgres import postgres_server
from local.provision import deploy_trigger_lambda
from local.stack import LocalStack
from local.stack.services import mwaa
from tests.support.flaky_proxy import FlakyProxy
from tests.support.trigger import (
    AIRFLOW_BIN,
    AIRFLOW_USER,
    FIXTURE_DAGS,
    FUNCTION_NAME,
    MWAA_ENVIRONMENT,
    NO_RETRY_FUNCTION_NAME,
    REPO,
    UI_BASE,
    AirflowApi,
    load_handler_module,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dags_folder(home: Path) -> Path:
    folder = home / "dags"
    folder.mkdir()
    for source in [*sorted((REPO / "dags").glob("*.py")), *sorted(FIXTURE_DAGS.glob("*.py"))]:
        (folder / source.name).symlink_to(source)
    return folder


def _airflow_env(home: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(_dags_folder(home)),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            **database_environ(database_url),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{AIRFLOW_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture(scope="session")
def airflow_database():
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def airflow_api(tmp_path_factory, airflow_database):
    home = tmp_path_factory.mktemp("airflow-home")
    password = secrets.token_urlsafe(16)
    (home / "passwords.json").write_text(json.dumps({AIRFLOW_USER: password}))
    env = _airflow_env(home, airflow_database)
    log = home / "setup.log"
    with log.open("w") as out:
        for command in (["db", "migrate"], ["dags", "reserialize"]):
            done = subprocess.run(
                [str(AIRFLOW_BIN), *command], env=env, stdout=out, stderr=subprocess.STDOUT
            )
            assert done.returncode == 0, f"airflow {' '.join(command)} failed; see {log}"
    port = _free_port()
    server_log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        [
            str(AIRFLOW_BIN),
            "api-server",
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
            "--apps",
            "core",
            "-w",
            "1",
        ],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = AirflowApi(f"http://127.0.0.1:{port}", AIRFLOW_USER, password)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(api.url + "/api/v2/monitor/health", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Airflow API server did not start; see {home}/api-server.log"
                    ) from None
                time.sleep(0.5)
        expected = {"train__de", "deploy__de", "batch_inference__de", "maintenance__de"}
        served = {d["dag_id"] for d in api.call("GET", "/dags?limit=1000")["dags"]}
        assert expected <= served, f"DAGs missing from Airflow: {expected - served}; see {log}"
        for dag_id in sorted(served):
            api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        yield api
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, airflow_api):
    """The local stack, its MWAA forwarding to ``airflow_api``, the trigger Lambda deployed."""
    with LocalStack(port=0, workdir=tmp_path_factory.mktemp("stack")) as running:
        mwaa.configure(
            running, airflow_api.url, username=airflow_api.username, password=airflow_api.password
        )
        deploy_trigger_lambda(
            running,
            environment_name=MWAA_ENVIRONMENT,
            function_name=FUNCTION_NAME,
            airflow_ui_base_url=UI_BASE,
            extra_environment={"MAX_CONF_BYTES": "4096"},
        )
        # The same code answering 502 at Airflow's first 5xx: what its callers retry.
        deploy_trigger_lambda(
            running,
            environment_name=MWAA_ENVIRONMENT,
            function_name=NO_RETRY_FUNCTION_NAME,
            extra_environment={"AIRFLOW_RETRY_SECONDS": "0"},
        )
        yield running


@pytest.fixture
def trigger_handler(stack, monkeypatch):
    """The handler module, run in-process with the function's environment on the local stack."""
    for name, value in stack.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    monkeypatch.setenv("MWAA_ENVIRONMENT_NAME", MWAA_ENVIRONMENT)
    monkeypatch.setenv("AIRFLOW_UI_BASE_URL", UI_BASE)
    monkeypatch.delenv("ALLOWED_DAG_PATTERNS", raising=False)
    monkeypatch.delenv("MAX_CONF_BYTES", raising=False)
    return load_handler_module()


@pytest.fixture
def flaky_airflow(stack, airflow_api):
    """The stack's MWAA forwarding through a ``FlakyProxy`` in front of Airflow (for one test)."""
    with FlakyProxy(airflow_api.url) as proxy:
        mwaa.configure(
            stack, proxy.url, username=airflow_api.username, password=airflow_api.password
        )
        try:
            yield proxy
        finally:
            mwaa.configure(
                stack,
                airflow_api.url,
                username=airflow_api.username,
                password=airflow_api.password,
            )
