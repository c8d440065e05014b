"""Shared by the trigger tests (tests/lambda): names, an Airflow API client, the handler loader."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURE_DAGS = REPO / "tests" / "lambda" / "fixture_dags"
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")
MWAA_ENVIRONMENT = "mlops-local"
FUNCTION_NAME = "mlops-local-trigger"
NO_RETRY_FUNCTION_NAME = "mlops-local-trigger-noretry"
UI_BASE = "http://airflow.example.test"
AIRFLOW_USER = "ci"


@dataclass
class AirflowApi:
    """The running API server and a small authenticated client for test assertions."""

    url: str
    username: str
    password: str = field(repr=False)
    _token: str | None = None

    def _token_value(self) -> str:
        if self._token is None:
            self._token = self._send(
                "POST",
                "/auth/token",
                {"username": self.username, "password": self.password},
                auth=False,
            )["access_token"]
        return self._token

    def _send(self, method: str, path: str, body=None, auth=True):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self._token_value()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def call(self, method: str, path: str, body=None):
        """``method /api/v2<path>``; returns the JSON answer (raises HTTPError on 4xx/5xx)."""
        return self._send(method, "/api/v2" + path, body)

    def runs(self, dag_id: str) -> list[dict]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def all_runs(self) -> list[dict]:
        return self.call("GET", "/dags/~/dagRuns?limit=1000")["dag_runs"]

    def set_state(self, dag_id: str, run_id: str, state: str) -> dict:
        return self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", {"state": state})


def load_handler_module():
    """include/trigger_lambda/handler.py as its own module (its name is just ``handler``)."""
    path = REPO / "include" / "trigger_lambda" / "handler.py"
    # The function's task root is on sys.path in Lambda: its sibling modules import as top-level.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("trigger_lambda_handler", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    def __init__(self, request_id: str = "req-test-1"):
        self.aws_request_id = request_id


# ------------------------------------------------ trigger-dag as a GitLab job runs it
CLI = REPO / "scripts" / "trigger-dag"


def job_environment(stack, **extra: str) -> dict[str, str]:
    """What a GitLab job has: PATH/HOME, the endpoint and credentials, CI variables."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env.update(stack.environ())
    env.update({"PYTHON": sys.executable, "TRIGGER_LAMBDA_NAME": FUNCTION_NAME})
    env.update(extra)
    return env


def trigger_dag(stack, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLI), *args],
        env=job_environment(stack, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def wait_in_background(stack, dag_id: str, run_id: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CLI), "--dag", dag_id, "--run-id", run_id, "--wait", "--poll-interval", "1s", *extra],
        env=job_environment(stack),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def until_run_exists(airflow_api, dag_id: str, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while run_id not in {r["dag_run_id"] for r in airflow_api.runs(dag_id)}:
        assert time.monotonic() < deadline, f"{run_id} never appeared"
        time.sleep(0.3)
