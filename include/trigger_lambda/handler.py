"""Trigger Lambda: starts DAG runs on Amazon MWAA and reports their state, for GitLab CI.

Event (direct invocation):
    {"action": "trigger" | "status", "dag_id": "train__de", "conf": {...}, "run_id": "gitlab-1-2"}

Answer: ``{"statusCode": 200|201, "dag_id", "run_id", "state", "created", "url", ...}`` or
``{"statusCode": 4xx|5xx, "error": <code>, "message": ..., "field"?: ..., "airflow_status"?: ...}``.
400 bad input, 403 DAG not allowed, 404 unknown DAG or run, 502 MWAA/Airflow error (with Airflow's
message), 500 only for a misconfigured function. No exception escapes ``handler``.

Only boto3 is needed; ``mwaa.invoke_rest_api`` needs botocore >= 1.35.47, which older Lambda
runtimes do not bundle, so the deployment package carries its own (see requirements.txt here).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
import botocore
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


def call_airflow(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
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


def _get_run(dag_id: str, run_id: str) -> dict[str, Any]:
    try:
        return call_airflow("GET", _run_path(dag_id, run_id))
    except TriggerError as exc:
        if exc.details.get("airflow_status") == 404:
            raise TriggerError(
                404,
                "not_found",
                f"no run {run_id!r} of DAG {dag_id!r} in Airflow: {exc.message}",
                field="run_id",
            ) from exc
        raise


def trigger(dag_id: str, conf: dict[str, Any], run_id: str | None) -> dict[str, Any]:
    """Start a run; a run_id Airflow already has returns that run (idempotent retries)."""
    body = {
        "dag_run_id": run_id,
        # Airflow 3 wants the field; a timestamp keeps {{ ds }}-style templates working.
        "logical_date": datetime.now(UTC).isoformat(),
        "conf": conf,
    }
    try:
        dag_run = call_airflow("POST", _run_path(dag_id), body)
    except TriggerError as exc:
        airflow_status = exc.details.get("airflow_status")
        if airflow_status == 409 and run_id is not None:
            return _run_answer(200, _get_run(dag_id, run_id), created=False)
        if airflow_status == 404:
            raise TriggerError(
                404, "unknown_dag", f"Airflow has no DAG {dag_id!r}: {exc.message}", field="dag_id"
            ) from exc
        if airflow_status in (400, 422):
            raise TriggerError(
                400, "rejected_by_airflow", exc.message, airflow_status=airflow_status
            ) from exc
        raise
    answer = _run_answer(201, dag_run, created=True)
    answer["dag_paused"] = dag_paused(dag_id)
    return answer


def dag_paused(dag_id: str) -> bool | None:
    """Whether the DAG is paused (its runs then stay queued); None when Airflow does not say."""
    try:
        dag = call_airflow("GET", f"/dags/{quote(dag_id, safe='')}")
    except TriggerError:
        return None
    paused = dag.get("is_paused")
    return paused if isinstance(paused, bool) else None


def status(dag_id: str, run_id: str) -> dict[str, Any]:
    return _run_answer(200, _get_run(dag_id, run_id), created=False)


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
        if request["action"] == "trigger":
            answer = trigger(request["dag_id"], request["conf"], request["run_id"])
        else:
            answer = status(request["dag_id"], request["run_id"])
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
