"""Local mode only: MWAA in miniature — Airflow's real components on PostgreSQL.

``AirflowCluster(directory, env)`` starts PostgreSQL (local/postgres.py), runs
``airflow db migrate`` and then ``airflow scheduler`` (LocalExecutor), ``airflow triggerer``,
``airflow dag-processor`` and ``airflow api-server`` as separate processes, each in its own
process group and logging (INFO) to ``directory/logs/<component>.log``; the console only gets
their WARNING-and-above lines, each distinct message once. It waits until the API answers and the
expected DAGs are parsed, and on exit stops every component (SIGTERM, then SIGKILL to the group
and to anything it left behind), then PostgreSQL. Every listener is on 127.0.0.1: the API server
on a free port (or the one asked for), the log servers are not started (the API server reads task
logs from the shared local files). ``cluster.api`` is a small REST client. Nothing here is used on
MWAA.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil  # type: ignore[import-untyped]

from local.airflow_env import AIRFLOW_BIN, database_environ
from local.postgres import DEFAULT_BIN_DIR, postgres_server

COMPONENTS = ("scheduler", "triggerer", "dag-processor", "api-server")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
# Console lines worth a person's attention: structlog's "[warning  ]" or logging's "WARNING".
_LOUD = re.compile(r"\[(warning|error|critical)\s*\]|\b(WARNING|ERROR|CRITICAL)\b")
# A leading timestamp, so that a message repeated at every parse is shown once.
_TIMESTAMP = re.compile(r"^\S*\d{4}-\d\d-\d\d[T ][\d:.,+Z-]+\]?\s*")
# A structured line's level and message (before its ``[logger]``): a warning that every task
# repeats (a deprecation, with its own dag_id and run_id) is shown once; an error once per DAG.
_MESSAGE = re.compile(r"\[(warning|error|critical)\s*\]\s*(.*?)\s+\[[\w.]+\]")
_DAG_ID = re.compile(r"\bdag_id=(\S+)")


class ClusterError(RuntimeError):
    """A local Airflow component did not start, stopped unexpectedly, or the API failed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (0600 from creation on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


@dataclass
class RunResult:
    """A finished (or last seen) DAG run and its task instances."""

    dag_id: str
    run_id: str
    state: str
    run: dict[str, Any]
    task_instances: list[dict[str, Any]]

    def task_states(self) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances}


@dataclass
class AirflowClient:
    """A small client for Airflow 3's REST API (/api/v2) with the simple auth manager's JWT."""

    url: str
    username: str
    password: str = field(repr=False)
    timeout: float = 30.0
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        """A JWT from ``POST /auth/token`` (cached; fetched again after a 401)."""
        if self._token is None:
            answer = self._send(
                "POST", "/auth/token", {"username": self.username, "password": self.password}, None
            )
            self._token = str(answer["access_token"])
        return self._token

    def _send(self, method: str, path: str, body: Any, token: str | None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the cluster's own loopback URL
            self.url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                payload = answer.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise ClusterError(
                f"Airflow API {method} {path} answered {error.code}: {detail}"
            ) from error
        return json.loads(payload) if payload else None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``method /api/v2<path>`` with the token; the decoded JSON answer."""
        try:
            return self._send(method, "/api/v2" + path, body, self.token())
        except ClusterError as error:
            if (
                not isinstance(error.__cause__, urllib.error.HTTPError)
                or error.__cause__.code != 401
            ):
                raise
            self._token = None  # expired: one fresh token, one retry
            return self._send(method, "/api/v2" + path, body, self.token())

    def dag_ids(self) -> set[str]:
        return {dag["dag_id"] for dag in self._pages("/dags", "dags")}

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return dict(self.call("PATCH", f"/dags/{_quote(dag_id)}", {"is_paused": False}))

    def trigger_dag(
        self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None
    ) -> dict[str, Any]:
        """A manual run (no logical date, as MWAA's trigger does); the created run."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id is not None:
            body["dag_run_id"] = run_id
        return dict(self.call("POST", f"/dags/{_quote(dag_id)}/dagRuns", body))

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self._pages(f"/dags/{_quote(dag_id)}/dagRuns", "dag_runs")

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{_quote(dag_id)}/dagRuns/{_quote(run_id)}/taskInstances"
        return self._pages(path, "task_instances")

    def asset_events(self, **filters: str | int) -> list[dict[str, Any]]:
        """``GET /assets/events`` (filters: asset_id, source_dag_id, source_run_id, ...)."""
        query = urllib.parse.urlencode({"order_by": "timestamp", **filters})
        return self._pages(f"/assets/events?{query}", "asset_events")

    def wait_for_run(
        self,
        dag_id: str,
        run: str | Callable[[dict[str, Any]], bool],
        timeout: float,
        poll: float = 2.0,
    ) -> RunResult:
        """Wait until the run (its id, or the first run ``run(dag_run)`` accepts) has finished.

        Returns its state (``success`` or ``failed``) and task instances; raises ClusterError
        naming the run and its task states when ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            if isinstance(run, str):
                last = self.run(dag_id, run)
            else:
                last = next((r for r in self.runs(dag_id) if run(r)), last)
            if last is not None and last["state"] in TERMINAL_RUN_STATES:
                return self._result(dag_id, last)
            if time.monotonic() > deadline:
                if last is None:
                    raise ClusterError(f"no run of {dag_id} matched within {timeout:.0f}s")
                result = self._result(dag_id, last)
                raise ClusterError(
                    f"run {result.run_id} of {dag_id} still {result.state} after {timeout:.0f}s; "
                    f"tasks: {result.task_states()}"
                )
            time.sleep(poll)

    def _result(self, dag_id: str, run: dict[str, Any]) -> RunResult:
        run_id = run["dag_run_id"]
        return RunResult(dag_id, run_id, run["state"], run, self.task_instances(dag_id, run_id))

    def _pages(self, path: str, key: str, page: int = 100) -> list[dict[str, Any]]:
        joiner = "&" if "?" in path else "?"
        items: list[dict[str, Any]] = []
        while True:
            answer = self.call("GET", f"{path}{joiner}limit={page}&offset={len(items)}")
            items.extend(answer[key])
            if not answer[key] or len(items) >= answer["total_entries"]:
                return items


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@dataclass
class _Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    pump: threading.Thread
    seen: dict[int, float] = field(default_factory=dict)  # its tree so far: pid -> create time


class AirflowCluster:
    """Airflow's scheduler, triggerer, dag-processor and api-server on PostgreSQL, locally.

    ``env``: the Airflow environment (local/airflow_env.py ``airflow_environ``); AIRFLOW_HOME,
    the metadata DB, the API's address and auth and the loop intervals are set here.
    ``expect_dags``: DAG ids that must be parsed before the cluster counts as up.
    """

    def __init__(
        self,
        directory: Path | str,
        env: dict[str, str],
        *,
        expect_dags: Iterable[str] = (),
        components: Iterable[str] = COMPONENTS,
        port: int = 0,
        parallelism: int = 4,
        triggerer_capacity: int = 100,
        parse_interval: int = 5,
        username: str = "admin",
        # Further users of the simple auth manager, name -> role (viewer, user, op, admin):
        # a person who approves in the UI or the API under their own name (``client(name)``).
        users: Mapping[str, str] | None = None,
        # Generous: on a loaded 2-core machine the first parse of every DAG takes minutes.
        start_timeout: float = 900.0,
        stop_timeout: float = 30.0,
        console: IO[str] | None = sys.stderr,
        postgres_bin_dir: Path | str = DEFAULT_BIN_DIR,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.components = tuple(components)
        unknown = set(self.components) - set(COMPONENTS)
        if unknown:
            raise ClusterError(f"unknown Airflow components {sorted(unknown)}; known: {COMPONENTS}")
        self.expect_dags = frozenset(expect_dags)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = self.directory / "home"
        self.logs = self.directory / "logs"
        self.password_file = self.directory / "passwords.json"
        self.username = username
        self.users = {username: "admin", **(users or {})}
        bad = [name for name in self.users if not re.fullmatch(r"[A-Za-z0-9._-]+", name)]
        if bad:
            raise ClusterError(f"user names {bad}: only letters, digits, '.', '_' and '-'")
        self._passwords = {name: secrets.token_urlsafe(16) for name in self.users}
        self.password = self._passwords[username]
        self.api = AirflowClient(self.url, username, self.password)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.console = console
        self._postgres_bin_dir = postgres_bin_dir
        self._base_env = env
        self._tuning = {
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__TRIGGERER__CAPACITY": str(triggerer_capacity),
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(parse_interval),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(parse_interval),
        }
        self.env: dict[str, str] = {}
        self._running: list[_Component] = []
        self._stack: contextlib.ExitStack | None = None
        self._shown: set[str] = set()
        self._console_lock = threading.Lock()

    def client(self, username: str) -> AirflowClient:
        """A REST client signed in as one of the cluster's users."""
        return AirflowClient(self.url, username, self._passwords[username])

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> AirflowCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        stack = contextlib.ExitStack()
        self._stack = stack
        try:
            url = stack.enter_context(
                postgres_server(self.directory / "pg", bin_dir=self._postgres_bin_dir)
            )
            stack.callback(self._stop_components)  # runs before PostgreSQL stops
            self.env = self._environ(url)
            self._migrate()
            for name in self.components:
                self._launch(name)
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every component and PostgreSQL; safe to call more than once."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def check(self) -> None:
        """Raise ClusterError if a component has exited."""
        for component in self._running:
            if component.process.poll() is not None:
                raise ClusterError(
                    f"Airflow {component.name} exited with code {component.process.returncode}; "
                    f"see {component.log}:\n{_tail(component.log)}"
                )

    def wait(self, poll: float = 2.0) -> None:
        """Block until a component exits (then raise) or the caller is interrupted (Ctrl-C)."""
        while True:
            self.check()
            self._remember_pids()
            time.sleep(poll)

    def processes(self) -> list[psutil.Process]:
        """The components' live processes, children included (for no-orphan checks)."""
        self._remember_pids()
        alive = []
        for component in self._running:
            for pid, created in component.seen.items():
                with contextlib.suppress(psutil.NoSuchProcess):
                    process = psutil.Process(pid)
                    if process.create_time() == created:
                        alive.append(process)
        return alive

    # -- setup --------------------------------------------------------------------------------

    def _environ(self, database_url: str) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        _write_private(self.password_file, json.dumps(self._passwords))
        env = dict(self._base_env)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PATH": os.pathsep.join([str(AIRFLOW_BIN.parent), env.get("PATH", "")]),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                    f"{name}:{role}" for name, role in self.users.items()
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.password_file),
                # One secret for all components: the scheduler signs the workers' tokens.
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(64),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
                # The dag-processor prints a stats table every 30 s by default.
                "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "600",
                "PYTHONUNBUFFERED": "1",
                **self._tuning,
            }
        )
        env.update(database_environ(database_url))
        return env

    def _say(self, text: str) -> None:
        if self.console is not None:
            with self._console_lock:
                print(text, file=self.console, flush=True)

    def _migrate(self) -> None:
        log = self.logs / "db-migrate.log"
        with log.open("w") as out:
            done = subprocess.run(  # noqa: S603 - the project's own Airflow
                [str(AIRFLOW_BIN), "db", "migrate"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
            )
        if done.returncode != 0:
            raise ClusterError(f"airflow db migrate failed; see {log}:\n{_tail(log)}")

    def _command(self, name: str) -> list[str]:
        airflow = str(AIRFLOW_BIN)
        if name == "api-server":
            return [airflow, "api-server", "-H", "127.0.0.1", "-p", str(self.port), "-w", "1"]
        if name in ("scheduler", "triggerer"):
            # No log server: it would bind every interface, and the API server reads the
            # task logs from the local files these processes write.
            return [airflow, name, "--skip-serve-logs"]
        return [airflow, name]

    def _launch(self, name: str) -> None:
        log = self.logs / f"{name}.log"
        process = subprocess.Popen(  # noqa: S603 - the project's own Airflow
            self._command(name),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,  # its own process group, killed as a whole at stop
        )
        assert process.stdout is not None
        pump = threading.Thread(
            target=self._pump, args=(name, process.stdout, log), daemon=True, name=f"log-{name}"
        )
        pump.start()
        component = _Component(name, process, log, pump)
        self._running.append(component)

    def _pump(self, name: str, stream: IO[bytes], log: Path) -> None:
        """Everything to the component's log file; each distinct loud line once to the console."""
        with stream, log.open("ab") as out:
            for raw in stream:
                out.write(raw)
                out.flush()
                line = raw.decode(errors="replace").rstrip()
                if self.console is None or not _LOUD.search(line):
                    continue
                key = f"{name}:{_TIMESTAMP.sub('', line)}"
                if structured := _MESSAGE.search(line):
                    level, message = structured.groups()
                    dag = _DAG_ID.search(line) if level != "warning" else None
                    key = f"{name}:{level}:{message}:{dag.group(1) if dag else ''}"
                if key not in self._shown:
                    self._shown.add(key)
                    self._say(f"[airflow {name}] {line[:300]}")

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        if "api-server" not in self.components:
            return
        while not self._answers():
            self.check()
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"Airflow API server did not answer on {self.url} within "
                    f"{self.start_timeout:.0f}s; see {self.logs / 'api-server.log'}"
                )
            time.sleep(0.5)
        missing = set(self.expect_dags)
        while missing:
            missing = set(self.expect_dags) - self.api.dag_ids()
            if not missing:
                break
            self.check()
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"DAGs not parsed within {self.start_timeout:.0f}s: {sorted(missing)}; see "
                    f"{self.logs / 'dag-processor.log'} and "
                    f"{self.home / 'logs' / 'dag_processor'} (and GET /api/v2/importErrors)"
                )
            time.sleep(1)

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/api/v2/monitor/health", timeout=2).close()  # noqa: S310
        except (urllib.error.URLError, OSError):
            return False
        return True

    # -- stop ---------------------------------------------------------------------------------

    def _remember_pids(self) -> None:
        for component in self._running:
            with contextlib.suppress(psutil.NoSuchProcess):
                root = psutil.Process(component.process.pid)
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        component.seen[process.pid] = process.create_time()

    def _stop_components(self) -> None:
        self._remember_pids()
        running, self._running = self._running, []
        for component in running:
            _signal_group(component.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for component in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                component.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for component in running:
            _signal_group(component.process.pid, signal.SIGKILL)
            component.process.wait()
            # Whatever left the group (a new session) but was seen in the tree.
            for pid, created in component.seen.items():
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    leftover = psutil.Process(pid)
                    if leftover.create_time() == created:  # not a reused pid
                        leftover.kill()
            component.pump.join(timeout=10)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
