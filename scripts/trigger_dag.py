#!/usr/bin/env python3
"""trigger-dag: start an Airflow DAG run on MWAA through the trigger Lambda, as GitLab CI does.

    trigger-dag --dag train__de --conf '{"data_month": "2026-10"}' [--run-id ID]
                [--wait --timeout 3h --poll-interval 30s] [--retry-deadline 2m]
                [--function NAME] [--dotenv FILE]

The function name comes from --function or TRIGGER_LAMBDA_NAME; AWS access from the usual boto3
environment (in CI: the OIDC web identity role). The conf is checked against the DAG kind's params
(include/trigger_lambda/conf_schemas.json) before any call. Without --run-id, a GitLab job uses
``gitlab-<CI_PIPELINE_ID>-<CI_JOB_ID>`` (elsewhere ``cli-<time>-<random>``), so a retried call or
job finds its run instead of starting another.

Retries: throttling, Lambda service 5xx and dropped connections are retried by botocore
(``standard`` mode); the Lambda answering 502/503/504 (MWAA or Airflow failing) is retried here
with exponential backoff and full jitter, each call for at most --retry-deadline
(TRIGGER_RETRY_DEADLINE, default 2m). A 4xx is never retried. A paused DAG fails at once, with the
command that unpauses it.

Exit status: 0 triggered (or, with --wait, the run succeeded), 1 the run failed, 2 the request was
refused or kept failing (bad input, DAG not allowed, unknown or paused, Airflow/Lambda error past
the retry deadline), 3 --wait gave up at --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The Lambda's conf check (standard library only), shared with the CLI.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include" / "trigger_lambda"))
import conf_schema  # noqa: E402

EXIT_OK, EXIT_RUN_FAILED, EXIT_REFUSED, EXIT_TIMED_OUT = 0, 1, 2, 3
DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# The Lambda's answers that may pass: MWAA or Airflow failing (502), overloaded (503), slow (504).
TRANSIENT_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 1.0, 20.0


class TriggerFailed(Exception):
    """The Lambda refused or failed; carries the exit status."""

    def __init__(
        self, message: str, exit_status: int = EXIT_REFUSED, *, transient: bool = False
    ) -> None:
        super().__init__(message)
        self.exit_status = exit_status
        self.transient = transient


def parse_duration(text: str) -> float:
    """'3h', '90m', '45s', '1.5h' or plain seconds -> seconds."""
    match = DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 3h, 90m, 45s or 3600")
    return float(match["value"]) * UNIT_SECONDS[match["unit"]]


def parse_conf(text: str) -> dict[str, Any]:
    try:
        conf = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--conf is not JSON: {exc}") from exc
    if not isinstance(conf, dict):
        raise argparse.ArgumentTypeError("--conf must be a JSON object, e.g. '{\"key\": 1}'")
    return conf


def default_run_id(environ: dict[str, str]) -> str:
    """gitlab-<pipeline>-<job> in a GitLab job, else a fresh cli-<time>-<random>: retries of this
    call then never start a second run."""
    pipeline, job = environ.get("CI_PIPELINE_ID"), environ.get("CI_JOB_ID")
    if pipeline and job:
        return f"gitlab-{pipeline}-{job}"
    return f"cli-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trigger-dag",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dag", required=True, help="DAG id, e.g. train__de")
    parser.add_argument("--conf", type=parse_conf, default={}, help="run conf, a JSON object")
    parser.add_argument("--run-id", help="idempotency key (default gitlab-<pipeline>-<job> in CI)")
    parser.add_argument("--wait", action="store_true", help="poll until the run ends")
    parser.add_argument("--timeout", type=parse_duration, default=parse_duration("3h"))
    parser.add_argument("--poll-interval", type=parse_duration, default=parse_duration("30s"))
    parser.add_argument(
        "--retry-deadline",
        type=parse_duration,
        default=parse_duration(os.environ.get("TRIGGER_RETRY_DEADLINE") or "2m"),
        help="how long one call keeps retrying transient failures (default: "
        "$TRIGGER_RETRY_DEADLINE or 2m)",
    )
    parser.add_argument(
        "--function",
        default=os.environ.get("TRIGGER_LAMBDA_NAME"),
        help="trigger Lambda name or ARN (default: $TRIGGER_LAMBDA_NAME)",
    )
    parser.add_argument(
        "--dotenv", help="also write DAG_ID, DAG_RUN_ID, DAG_RUN_URL to this file (CI artifact)"
    )
    return parser


def lambda_client():
    import boto3
    from botocore.config import Config

    # The function runs up to its timeout (30 s); botocore retries throttling (reserved
    # concurrency), Lambda's 5xx and dropped connections; the run id keeps a retry idempotent.
    config = Config(
        read_timeout=70, connect_timeout=10, retries={"mode": "standard", "max_attempts": 5}
    )
    return boto3.client("lambda", config=config)


def invoke(
    client: Any, function: str, event: dict[str, Any], retry_deadline: float = 0.0
) -> dict[str, Any]:
    """``invoke_once``, a transient failure retried for ``retry_deadline`` seconds with
    exponential backoff and full jitter. Hand-written: the Lambda's 502 is its answer's status in
    a successful invocation, which no botocore retry mode looks at."""
    deadline = time.monotonic() + retry_deadline
    attempt = 0
    while True:
        try:
            return invoke_once(client, function, event)
        except TriggerFailed as exc:
            delay = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
            if not exc.transient or time.monotonic() + delay >= deadline:
                if exc.transient:
                    raise TriggerFailed(
                        f"gave up after {attempt + 1} attempt(s) within the retry deadline "
                        f"({retry_deadline:.0f} s): {exc}"
                    ) from exc
                raise
            attempt += 1
            print(f"transient failure, retry {attempt} in {delay:.1f} s: {exc}", flush=True)
            time.sleep(delay)


def invoke_once(client: Any, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """One synchronous invocation; returns the handler's answer or raises TriggerFailed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except (BotoCoreError, ClientError) as exc:
        # botocore has already retried what may pass.
        raise TriggerFailed(f"invoking Lambda {function} failed: {exc}") from exc
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw or b"null")
    except ValueError as exc:
        raise TriggerFailed(f"Lambda {function} answered non-JSON: {raw[:500]!r}") from exc
    if response.get("FunctionError"):
        detail = answer.get("errorMessage") if isinstance(answer, dict) else answer
        raise TriggerFailed(
            f"Lambda {function} failed ({response['FunctionError']}): {detail}",
            # The handler never raises: an unhandled error is the runtime's (a timeout).
            transient="timed out" in str(detail),
        )
    if not isinstance(answer, dict) or "statusCode" not in answer:
        raise TriggerFailed(f"Lambda {function} answered an unexpected payload: {answer!r}")
    if answer["statusCode"] >= 400:
        where = f" (field {answer['field']})" if answer.get("field") else ""
        raise TriggerFailed(
            f"{answer['statusCode']} {answer.get('error')}{where}: {answer.get('message')} "
            f"[request {answer.get('request_id')}]",
            transient=answer["statusCode"] in TRANSIENT_STATUSES,
        )
    return answer


def report(answer: dict[str, Any], out=sys.stdout) -> None:
    verb = "started" if answer.get("created") else "found existing run"
    print(f"{answer['dag_id']}: {verb} {answer['run_id']} (state {answer['state']})", file=out)
    print(f"run_id: {answer['run_id']}", file=out)
    if answer.get("url"):
        print(f"url: {answer['url']}", file=out)
    out.flush()


def write_dotenv(path: str, answer: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"DAG_ID={answer['dag_id']}\n")
        handle.write(f"DAG_RUN_ID={answer['run_id']}\n")
        handle.write(f"DAG_RUN_URL={answer.get('url') or ''}\n")


def wait_for_end(
    client: Any,
    function: str,
    dag_id: str,
    run_id: str,
    timeout: float,
    poll_interval: float,
    retry_deadline: float = 0.0,
) -> dict[str, Any]:
    """Poll the run's state until it ends; TriggerFailed(EXIT_TIMED_OUT) past the timeout, and
    at once when the DAG is paused (the run would wait for whoever unpauses it)."""
    deadline = time.monotonic() + timeout
    last_state = None
    event = {"action": "status", "dag_id": dag_id, "run_id": run_id}
    while True:
        answer = invoke(client, function, event, retry_deadline)
        if answer["state"] != last_state:
            print(f"{dag_id} {run_id}: {answer['state']}", flush=True)
            last_state = answer["state"]
        if answer.get("finished"):
            return answer
        if answer.get("dag_paused"):
            raise TriggerFailed(
                f"{dag_id} is paused in Airflow: run {run_id} stays {answer['state']} until it is "
                f"unpaused: {answer.get('unpause_command') or 'unpause it in the Airflow UI'}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TriggerFailed(
                f"{dag_id} {run_id} did not end within {timeout:.0f} s (last state {last_state})",
                EXIT_TIMED_OUT,
            )
        time.sleep(min(poll_interval, remaining))


def check_conf(dag_id: str, conf: dict[str, Any]) -> None:
    """The Lambda's own check of the conf against the DAG kind's params, before any call."""
    try:
        conf_schema.validate_conf(dag_id, conf, conf_schema.load_schemas())
    except conf_schema.ConfError as exc:
        raise TriggerFailed(f"--conf: {exc.field} {exc.reason} (for {dag_id})") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.function:
        print(
            "trigger-dag: no function: pass --function or set TRIGGER_LAMBDA_NAME", file=sys.stderr
        )
        return EXIT_REFUSED
    run_id = args.run_id or default_run_id(dict(os.environ))
    event = {"action": "trigger", "dag_id": args.dag, "conf": args.conf, "run_id": run_id}
    try:
        check_conf(args.dag, args.conf)
        client = lambda_client()
        answer = invoke(client, args.function, event, args.retry_deadline)
        report(answer)
        if args.dotenv:
            write_dotenv(args.dotenv, answer)
        if not args.wait:
            return EXIT_OK
        final = wait_for_end(
            client,
            args.function,
            answer["dag_id"],
            answer["run_id"],
            args.timeout,
            args.poll_interval,
            args.retry_deadline,
        )
    except TriggerFailed as exc:
        print(f"trigger-dag: {exc}", file=sys.stderr)
        return exc.exit_status
    print(f"{final['dag_id']} {final['run_id']} ended: {final['state']}")
    return EXIT_OK if final["state"] == "success" else EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
