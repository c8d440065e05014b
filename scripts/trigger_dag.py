#!/usr/bin/env python3
"""trigger-dag: start an Airflow DAG run on MWAA through the trigger Lambda, as GitLab CI does.

    trigger-dag --dag train__de --conf '{"data_month": "2026-10"}' [--run-id ID]
                [--wait --timeout 3h --poll-interval 30s] [--function NAME] [--dotenv FILE]

The function name comes from --function or TRIGGER_LAMBDA_NAME; AWS access from the usual boto3
environment (in CI: the OIDC web identity role). Without --run-id, a GitLab job uses
``gitlab-<CI_PIPELINE_ID>-<CI_JOB_ID>``, so a retried job finds its run instead of starting
another. Exit status: 0 triggered (or, with --wait, the run succeeded), 1 the run failed,
2 the request was refused (bad input, DAG not allowed or unknown, Airflow/Lambda error),
3 --wait gave up at --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

EXIT_OK, EXIT_RUN_FAILED, EXIT_REFUSED, EXIT_TIMED_OUT = 0, 1, 2, 3
DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Polls that may fail in a row (throttling, a Lambda cold start timing out) before giving up.
MAX_POLL_ERRORS = 5


class TriggerFailed(Exception):
    """The Lambda refused or failed; carries the exit status."""

    def __init__(self, message: str, exit_status: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.exit_status = exit_status


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


def default_run_id(environ: dict[str, str]) -> str | None:
    pipeline, job = environ.get("CI_PIPELINE_ID"), environ.get("CI_JOB_ID")
    return f"gitlab-{pipeline}-{job}" if pipeline and job else None


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

    # The function waits up to ~20 s on MWAA; retries stay with the caller's idempotent run id.
    config = Config(read_timeout=70, connect_timeout=10, retries={"max_attempts": 4})
    return boto3.client("lambda", config=config)


def invoke(client: Any, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """One synchronous invocation; returns the handler's answer or raises TriggerFailed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except (BotoCoreError, ClientError) as exc:
        raise TriggerFailed(f"invoking Lambda {function} failed: {exc}") from exc
    raw = response["Payload"].read()
    try:
        answer = json.loads(raw or b"null")
    except ValueError as exc:
        raise TriggerFailed(f"Lambda {function} answered non-JSON: {raw[:500]!r}") from exc
    if response.get("FunctionError"):
        detail = answer.get("errorMessage") if isinstance(answer, dict) else answer
        raise TriggerFailed(f"Lambda {function} failed ({response['FunctionError']}): {detail}")
    if not isinstance(answer, dict) or "statusCode" not in answer:
        raise TriggerFailed(f"Lambda {function} answered an unexpected payload: {answer!r}")
    if answer["statusCode"] >= 400:
        where = f" (field {answer['field']})" if answer.get("field") else ""
        raise TriggerFailed(
            f"{answer['statusCode']} {answer.get('error')}{where}: {answer.get('message')} "
            f"[request {answer.get('request_id')}]"
        )
    return answer


def report(answer: dict[str, Any], out=sys.stdout) -> None:
    verb = "started" if answer.get("created") else "found existing run"
    print(f"{answer['dag_id']}: {verb} {answer['run_id']} (state {answer['state']})", file=out)
    print(f"run_id: {answer['run_id']}", file=out)
    if answer.get("url"):
        print(f"url: {answer['url']}", file=out)
    if answer.get("dag_paused"):
        print(
            f"warning: {answer['dag_id']} is paused in Airflow: the run stays queued until the "
            "DAG is unpaused",
            file=out,
        )
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
) -> dict[str, Any]:
    """Poll the run's state until it ends; TriggerFailed(EXIT_TIMED_OUT) past the timeout."""
    deadline = time.monotonic() + timeout
    errors, last_state = 0, None
    event = {"action": "status", "dag_id": dag_id, "run_id": run_id}
    while True:
        try:
            answer = invoke(client, function, event)
            errors = 0
        except TriggerFailed as exc:
            errors += 1
            if errors >= MAX_POLL_ERRORS:
                raise
            print(f"status poll failed ({errors}/{MAX_POLL_ERRORS}), retrying: {exc}", flush=True)
            answer = None
        if answer is not None:
            if answer["state"] != last_state:
                print(f"{dag_id} {run_id}: {answer['state']}", flush=True)
                last_state = answer["state"]
            if answer.get("finished"):
                return answer
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TriggerFailed(
                f"{dag_id} {run_id} did not end within {timeout:.0f} s (last state {last_state})",
                EXIT_TIMED_OUT,
            )
        time.sleep(min(poll_interval, remaining))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.function:
        print(
            "trigger-dag: no function: pass --function or set TRIGGER_LAMBDA_NAME", file=sys.stderr
        )
        return EXIT_REFUSED
    run_id = args.run_id or default_run_id(dict(os.environ))
    event: dict[str, Any] = {"action": "trigger", "dag_id": args.dag, "conf": args.conf}
    if run_id:
        event["run_id"] = run_id
    client = lambda_client()
    try:
        answer = invoke(client, args.function, event)
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
        )
    except TriggerFailed as exc:
        print(f"trigger-dag: {exc}", file=sys.stderr)
        return exc.exit_status
    print(f"{final['dag_id']} {final['run_id']} ended: {final['state']}")
    return EXIT_OK if final["state"] == "success" else EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
