"""Trigger Lambda: starts DAG runs on Amazon MWAA and reports their state, for GitLab CI.

Event (direct invocation):
    {"action": "trigger" | "status", "dag_id": "train__de", "conf": {...}, "run_id": "gitlab-1-2"}

Answer: ``{"statusCode": 200|201, "dag_id", "run_id", "state", "created", "url", ...}`` or
``{"statusCode": 4xx|5xx, "error": <code>, "message": ..., "field"?: ..., "airflow_status"?: ...}``.
400 bad input (a conf is checked against its DAG kind's params schema, conf_schemas.json: the
answer names the field, never the value), 403 DAG not allowed, 404 unknown DAG or run, 409 the DAG
is paused (with the command that unpauses it) or the run id exists with another conf, 502
MWAA/Airflow error (with Airflow's message), 500 only for a misconfigured function. No exception
escapes ``handler``.

Retries: the MWAA client retries throttling, MWAA's 5xx and connection errors (botocore's
``standard`` mode). An Airflow 5xx (or 429) comes back inside a 400 RestApiServerException, which
botocore does not retry: ``call_airflow`` retries those itself with exponential backoff and full
jitter until ``AIRFLOW_RETRY_SECONDS`` (default 15 s, never past the function's own timeout), then
answers 502. A retried POST is idempotent through the run id: Airflow's 409 for a run id it has is
success when that run has the same conf.

Only boto3 is needed; ``mwaa.invoke_rest_api`` needs botocore >= 1.35.47, which older Lambda
runtimes do not bundle, so the deployment package carries its own (see requirements.txt here).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
import botocore
import conf_schema
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MIN_BOTOCORE_VERSION = (1, 35, 47)
# A model's DAGs: <kind>__<cc> (a country's default model) or <kind>__<cc>__<scheme>. No comma in
# a pattern: the variable is comma-separated.
DEFAULT_ALLOWED_DAG_PATTERNS = (
    r"^(train|evaluate|deploy|batch_inference)__[a-z]{2}(__[a-z][a-z0-9]+)?$"
)
DEFAULT_MAX_CONF_BYTES = 65536
# Airflow's default [scheduler] allowed_run_id_pattern, bounded by its run_id column (250).
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]{1,250}$")
FINISHED_STATES = frozenset({"success", "failed"})
ACTIONS = ("trigger", "status")
# Airflow answers that may pass: a 5xx (e.g. SQLite/PostgreSQL "Database error" under load), 429.
TRANSIENT_AIRFLOW_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_AIRFLOW_RETRY_SECONDS = 15.0
# Time kept back from the function's remaining time: one more MWAA call must still fit.
RESERVED_MS = 13_000
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.5, 4.0
EVENT_KEYS = frozenset({"action", "dag_id", "conf", "run_id"})

logger = logging.getLogger("trigger_lambda")


class TriggerError(Exception):
    """A failure the caller gets as a structured answer."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def answer(self) -> dict[str, Any]:
        return {"statusCode": self.status, "error": self.code, "message": self.message} | (
            self.details
        )


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _configure_logging() -> None:
    """One JSON handler on stdout (Lambda sends stdout to CloudWatch Logs)."""
    ours = [h for h in logger.handlers if getattr(h, "_trigger_lambda", False)]
    if ours:
        # Follow a replaced stdout (tests, runtimes). setStream flushes the old stream first,
        # which raises once whoever replaced it has closed it: swap it directly then.
        if getattr(ours[0].stream, "closed", False):
            ours[0].stream = sys.stdout
        else:
            ours[0].setStream(sys.stdout)
    else:
        stream = logging.StreamHandler(sys.stdout)
        stream.setFormatter(_JsonFormatter())
        stream._trigger_lambda = True  # type: ignore[attr-defined]
        logger.addHandler(stream)
    try:
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    except ValueError:
        logger.setLevel(logging.INFO)  # an unknown level name must not break the function
    logger.propagate = False


def _log(level: int, message: str, **fields: Any) -> None:
    logger.log(level, message, extra={"fields": fields})


# ---------------------------------------------------------------------------------------------
# Configuration (environment of the function)
# ---------------------------------------------------------------------------------------------


def botocore_version_supported(version: str) -> bool:
    """True when this botocore has MWAA InvokeRestApi (added in 1.35.47)."""
    parts = []
    for piece in version.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group()) if digits else 0)
    return tuple(parts) >= MIN_BOTOCORE_VERSION


def allowed_dag_patterns() -> list[re.Pattern[str]]:
    raw = os.environ.get("ALLOWED_DAG_PATTERNS") or DEFAULT_ALLOWED_DAG_PATTERNS
    patterns = []
    for text in (p.strip() for p in raw.split(",")):
        if not text:
            continue
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise TriggerError(
                500,
                "misconfigured",
                f"ALLOWED_DAG_PATTERNS: {text!r} is not a regular expression ({exc})",
            ) from exc
    if not patterns:
        raise TriggerError(500, "misconfigured", "ALLOWED_DAG_PATTERNS has no pattern")
    return patterns


def max_conf_bytes() -> int:
    raw = os.environ.get("MAX_CONF_BYTES") or str(DEFAULT_MAX_CONF_BYTES)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise TriggerError(
            500, "misconfigured", f"MAX_CONF_BYTES must be a positive integer, got {raw!r}"
        )
    return value


def environment_name() -> str:
    name = os.environ.get("MWAA_ENVIRONMENT_NAME", "").strip()
    if not name:
        raise TriggerError(500, "misconfigured", "MWAA_ENVIRONMENT_NAME is not set")
    return name


def airflow_retry_seconds() -> float:
    raw = os.environ.get("AIRFLOW_RETRY_SECONDS") or str(DEFAULT_AIRFLOW_RETRY_SECONDS)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 900:
        raise TriggerError(
            500, "misconfigured", f"AIRFLOW_RETRY_SECONDS must be 0-900 seconds, got {raw!r}"
        )
    return value


def retry_deadline(context: Any) -> float:
    """Monotonic time after which no Airflow call is retried: AIRFLOW_RETRY_SECONDS from now,
    and never closer than RESERVED_MS to the function's own timeout."""
    deadline = time.monotonic() + airflow_retry_seconds()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        deadline = min(deadline, time.monotonic() + (remaining() - RESERVED_MS) / 1000)
    return deadline


_schemas: dict[str, dict[str, Any]] | None = None


def conf_schemas() -> dict[str, dict[str, Any]]:
    """The params schema of each DAG kind, shipped beside this file (loaded once)."""
    global _schemas
    if _schemas is None:
        try:
            _schemas = conf_schema.load_schemas()
        except (OSError, ValueError) as exc:
            raise TriggerError(
                500,
                "misconfigured",
                f"{conf_schema.SCHEMAS_FILE.name} is missing or invalid: package it with the "
                f"function ({exc})",
            ) from exc
    return _schemas


def run_url(dag_id: str, run_id: str) -> str | None:
    """Link to the run in the Airflow 3 UI, or None when AIRFLOW_UI_BASE_URL is unset."""
    base = os.environ.get("AIRFLOW_UI_BASE_URL", "").strip().rstrip("/")
    if not base:
        return None
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


# ---------------------------------------------------------------------------------------------
# Event validation (pure)
# ---------------------------------------------------------------------------------------------


def parse_event(event: Any, patterns: list[re.Pattern[str]], conf_limit: int) -> dict[str, Any]:
    """Validate the event; return {action, dag_id, conf, run_id} or raise TriggerError."""
    if not isinstance(event, dict):
        raise TriggerError(400, "bad_request", "the event must be a JSON object")
    unknown = sorted(str(k) for k in event if k not in EVENT_KEYS)
    if unknown:
        raise TriggerError(
            400,
            "bad_request",
            f"unknown event field(s) {unknown}; expected {sorted(EVENT_KEYS)}",
            field=unknown[0],
        )
    action = event.get("action", "trigger")
    if action not in ACTIONS:
        raise TriggerError(
            400, "bad_request", f"action must be one of {list(ACTIONS)}", field="action"
        )

    dag_id = event.get("dag_id")
    if not isinstance(dag_id, str) or not dag_id:
        raise TriggerError(400, "bad_request", "dag_id must be a non-empty string", field="dag_id")
    if not any(p.search(dag_id) for p in patterns):
        raise TriggerError(
            403,
            "dag_not_allowed",
            f"dag_id {dag_id[:250]!r} matches none of ALLOWED_DAG_PATTERNS",
            field="dag_id",
        )
    # An allowlist pattern without anchors must not let path characters through.
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", dag_id):
        raise TriggerError(
            400, "bad_request", "dag_id may hold only letters, digits and _.-", field="dag_id"
        )

    run_id = event.get("run_id")
    if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id)):
        raise TriggerError(
            400,
            "bad_request",
            "run_id must be 1-250 characters of letters, digits and _.~:+- "
            "(e.g. gitlab-<pipeline>-<job>)",
            field="run_id",
        )
    if action == "status" and run_id is None:
        raise TriggerError(400, "bad_request", "action 'status' needs a run_id", field="run_id")

    conf = event.get("conf")
    if conf is None:
        conf = {}
    if action == "trigger":
        if not isinstance(conf, dict):
            raise TriggerError(400, "bad_request", "conf must be a JSON object", field="conf")
        try:
            size = len(json.dumps(conf, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise TriggerError(
                400, "bad_request", f"conf is not serialisable as JSON ({exc})", field="conf"
            ) from exc
        if size > conf_limit:
            raise TriggerError(
                400,
                "bad_request",
                f"conf is {size} bytes, over MAX_CONF_BYTES ({conf_limit})",
                field="conf",
            )
        try:
            conf_schema.validate_conf(dag_id, conf, conf_schemas())
        except conf_schema.ConfError as exc:
            raise TriggerError(
                400, "bad_request", f"{exc.field} {exc.reason} (for {dag_id})", field=exc.field
            ) from None
    return {"action": action, "dag_id": dag_id, "conf": conf, "run_id": run_id}


# ---------------------------------------------------------------------------------------------
# MWAA InvokeRestApi
# ---------------------------------------------------------------------------------------------

_client = None


def mwaa_client():
    """The MWAA client, made once per container (reused across warm invocations)."""
    global _client
    if not botocore_version_supported(botocore.__version__):
        raise TriggerError(
            500,
            "misconfigured",
            f"botocore {botocore.__version__} has no mwaa.invoke_rest_api (needs >= "
            f"{'.'.join(map(str, MIN_BOTOCORE_VERSION))}); package boto3/botocore from "
            "include/trigger_lambda/requirements.txt with the function",
        )
    if _client is None:
        # MWAA gives the Airflow call 10 s; one retry keeps a call inside the function's 30 s.
        config = Config(
            connect_timeout=3, read_timeout=12, retries={"max_attempts": 2, "mode": "standard"}
        )
        _client = boto3.client("mwaa", config=config)
    return _client


def _airflow_detail(response: Any) -> str:
    if isinstance(response, dict):
        detail = response.get("detail", response.get("title", response))
        if isinstance(detail, str):
            return detail
        return json.dumps(detail, default=str)[:2000]
    return str(response)[:2000]


def call_airflow(
    method: str, path: str, body: dict[str, Any] | None = None, *, deadline: float = 0.0
) -> dict[str, Any]:
    """An Airflow REST call through MWAA, an Airflow 5xx/429 retried until ``deadline``
    (monotonic; 0: no retry) with exponential backoff and full jitter. Hand-written: MWAA wraps
    Airflow's answer in a 400, so no botocore retry mode sees it."""
    attempt = 0
    while True:
        try:
            return _call_airflow_once(method, path, body)
        except TriggerError as exc:
            status = exc.details.get("airflow_status")
            if exc.code != "airflow_error" or status not in TRANSIENT_AIRFLOW_STATUSES:
                raise
            delay = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
            if time.monotonic() + delay >= deadline:
                if attempt:
                    exc.message += f" (after {attempt + 1} attempts)"
                    exc.args = (exc.message,)
                raise
            attempt += 1
            _log(
                logging.WARNING,
                "retrying Airflow call",
                method=method,
                path=path,
                airflow_status=status,
                attempt=attempt,
                delay_s=round(delay, 3),
            )
            time.sleep(delay)


def _call_airflow_once(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """One Airflow REST call through MWAA; raises TriggerError carrying Airflow's status."""
    kwargs: dict[str, Any] = {"Name": environment_name(), "Method": method, "Path": path}
    if body is not None:
        kwargs["Body"] = body
    client = mwaa_client()
    try:
        response = client.invoke_rest_api(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        if code in ("RestApiClientException", "RestApiServerException"):
            status = exc.response.get("RestApiStatusCode")
            payload = exc.response.get("RestApiResponse")
            raise TriggerError(
                502,
                "airflow_error",
                f"Airflow answered {status} to {method} {path}: {_airflow_detail(payload)}",
                airflow_status=status,
            ) from exc
        raise TriggerError(
            502,
            "mwaa_error",
            f"MWAA {code} on {method} {path}: {error.get('Message') or error.get('message', '')}",
        ) from exc
    except BotoCoreError as exc:
        raise TriggerError(
            502, "mwaa_unreachable", f"MWAA call {method} {path} failed: {exc}"
        ) from exc
    return response.get("RestApiResponse") or {}


def _run_answer(status: int, dag_run: dict[str, Any], created: bool) -> dict[str, Any]:
    dag_id = str(dag_run.get("dag_id", ""))
    run_id = str(dag_run.get("dag_run_id", ""))
    state = dag_run.get("state")
    return {
        "statusCode": status,
        "dag_id": dag_id,
        "run_id": run_id,
        "state": state,
        "finished": state in FINISHED_STATES,
        "created": created,
        "logical_date": dag_run.get("logical_date"),
        "start_date": dag_run.get("start_date"),
        "end_date": dag_run.get("end_date"),
        "url": run_url(dag_id, run_id),
    }


def _run_path(dag_id: str, run_id: str | None = None) -> str:
    path = f"/dags/{quote(dag_id, safe='')}/dagRuns"
    return path if run_id is None else f"{path}/{quote(run_id, safe='')}"


def _get_run(dag_id: str, run_id: str, deadline: float) -> dict[str, Any]:
    try:
        return call_airflow("GET", _run_path(dag_id, run_id), deadline=deadline)
    except TriggerError as exc:
        if exc.details.get("airflow_status") == 404:
            raise TriggerError(
                404,
                "not_found",
                f"no run {run_id!r} of DAG {dag_id!r} in Airflow: {exc.message}",
                field="run_id",
            ) from exc
        raise


def unpause_command(dag_id: str) -> str:
    """The command that unpauses ``dag_id`` on this function's MWAA environment."""
    return (
        f"aws mwaa invoke-rest-api --name {environment_name()} --method PATCH "
        f"--path /dags/{quote(dag_id, safe='')} --body '{{\"is_paused\": false}}'"
    )


def _get_dag(dag_id: str, deadline: float) -> dict[str, Any]:
    try:
        return call_airflow("GET", f"/dags/{quote(dag_id, safe='')}", deadline=deadline)
    except TriggerError as exc:
        if exc.details.get("airflow_status") == 404:
            raise TriggerError(
                404, "unknown_dag", f"Airflow has no DAG {dag_id!r}: {exc.message}", field="dag_id"
            ) from exc
        raise


def refuse_paused(dag_id: str, deadline: float) -> None:
    """409 when the DAG is paused: its runs would stay queued, and a waiting CI job with them."""
    if _get_dag(dag_id, deadline).get("is_paused") is True:
        raise TriggerError(
            409,
            "dag_paused",
            f"DAG {dag_id} is paused in Airflow, so a run would stay queued; unpause it (Airflow "
            f"UI toggle, or: {unpause_command(dag_id)}) and trigger again",
            field="dag_id",
            unpause_command=unpause_command(dag_id),
        )


def trigger(
    dag_id: str, conf: dict[str, Any], run_id: str | None, deadline: float = 0.0
) -> dict[str, Any]:
    """Start a run; a run_id Airflow already has with the same conf returns that run (idempotent
    retries), with another conf it is a 409."""
    refuse_paused(dag_id, deadline)
    body = {
        "dag_run_id": run_id,
        # Airflow 3 wants the field; a timestamp keeps {{ ds }}-style templates working.
        "logical_date": datetime.now(UTC).isoformat(),
        "conf": conf,
    }
    # Without a run id a retried POST could start a second run: only a named run is retried.
    post_deadline = deadline if run_id is not None else 0.0
    try:
        dag_run = call_airflow("POST", _run_path(dag_id), body, deadline=post_deadline)
    except TriggerError as exc:
        airflow_status = exc.details.get("airflow_status")
        if airflow_status == 409 and run_id is not None:
            existing = _get_run(dag_id, run_id, deadline)
            if (existing.get("conf") or {}) != conf:
                raise TriggerError(
                    409,
                    "run_id_conflict",
                    f"DAG {dag_id} already has a run {run_id!r} with another conf; pick a new "
                    "run_id to start a different run",
                    field="run_id",
                ) from exc
            return _run_answer(200, existing, created=False) | {"dag_paused": False}
        if airflow_status == 404:
            raise TriggerError(
                404, "unknown_dag", f"Airflow has no DAG {dag_id!r}: {exc.message}", field="dag_id"
            ) from exc
        if airflow_status in (400, 422):
            # Airflow's Params name the param and quote the value: keep the name only.
            refused = re.search(r"Invalid input for param (\w+)", exc.message)
            if refused:
                raise TriggerError(
                    400,
                    "rejected_by_airflow",
                    f"conf.{refused[1]} is refused by {dag_id}'s Params (a rule of this model, "
                    "e.g. its instance types: see the DAG's trigger form)",
                    field=f"conf.{refused[1]}",
                    airflow_status=airflow_status,
                ) from exc
            raise TriggerError(
                400, "rejected_by_airflow", exc.message, airflow_status=airflow_status
            ) from exc
        raise
    return _run_answer(201, dag_run, created=True) | {"dag_paused": False}


def status(dag_id: str, run_id: str, deadline: float = 0.0) -> dict[str, Any]:
    """The run's state; for a run that has not ended, whether its DAG is paused (it then waits
    until someone unpauses it) and the command that unpauses it."""
    answer = _run_answer(200, _get_run(dag_id, run_id, deadline), created=False)
    if not answer["finished"]:
        paused = _get_dag(dag_id, deadline).get("is_paused") is True
        answer["dag_paused"] = paused
        if paused:
            answer["unpause_command"] = unpause_command(dag_id)
    return answer


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: never raises; every answer carries statusCode and request_id."""
    _configure_logging()
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    started = time.monotonic()
    fields: dict[str, Any] = {"request_id": request_id}
    if isinstance(event, dict):
        # Identity only: conf may hold anything, so only its size is logged.
        for key in ("action", "dag_id", "run_id"):
            if isinstance(event.get(key), str):
                fields[key] = event[key][:250]
    try:
        request = parse_event(event, allowed_dag_patterns(), max_conf_bytes())
        deadline = retry_deadline(context)
        if request["action"] == "trigger":
            answer = trigger(request["dag_id"], request["conf"], request["run_id"], deadline)
        else:
            answer = status(request["dag_id"], request["run_id"], deadline)
        fields |= {
            "statusCode": answer["statusCode"],
            "run_id": answer["run_id"],
            "state": answer["state"],
            "created": answer["created"],
            "ms": round((time.monotonic() - started) * 1000),
        }
        _log(logging.INFO, "done", **fields)
    except TriggerError as exc:
        answer = exc.answer()
        level = logging.ERROR if exc.status >= 500 else logging.WARNING
        _log(level, exc.message, **(fields | {"statusCode": exc.status, "error": exc.code}))
    except Exception as exc:  # the last line of defence: a structured answer, never a crash
        answer = {
            "statusCode": 500,
            "error": "internal",
            "message": f"unexpected {type(exc).__name__}; see the log for request {request_id}",
        }
        logger.exception("unexpected error", extra={"fields": fields})
    answer["request_id"] = request_id
    return answer
