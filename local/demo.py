"""`make demo`: the whole pipeline, for real, on this machine.

Starts the local AWS + SageMaker stack and a Slack webhook sink, creates the resources the DAGs
expect (the names Terraform outputs), generates demo catalogs, then runs the real DAG files with
Airflow's embedded mode (`dag.test()`, SQLite), one Airflow home per country, countries in
parallel:

  month 1: train -> evaluate (the first model becomes champion) -> deploy -> batch_inference
  month 2 (the regulation change: new code-table version, remapped product types):
           train -> evaluate (the challenger must win by the comparison's own rule) -> deploy

It ends with a table per country and exits non-zero if any step failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local.airflow_env import REPO_ROOT, airflow_environ, migrate

DEFAULT_COUNTRIES = ("de", "fr", "gb")
FIRST_MONTH = "2026-10"
DEFAULT_ITEMS = 3000
COUNTRIES_FILE = REPO_ROOT / "include" / "config" / "countries.yaml"
PRINT_LOCK = threading.Lock()


def say(message: str) -> None:
    with PRINT_LOCK:
        print(message, flush=True)


# --------------------------------------------------------------------------------------------
# The worker: one process per (country, month) runs that month's DAGs in order with dag.test().
# --------------------------------------------------------------------------------------------


def _return_value(outcome: dict[str, Any], task_id: str) -> Any:
    return outcome.get("xcoms", {}).get(task_id, {}).get("return_value")


def run_month(country: str, month: str, with_batch: bool) -> list[dict[str, Any]]:
    """train -> evaluate -> deploy (-> batch_inference) for one country and month."""
    from local.run_dag import run

    outcomes: list[dict[str, Any]] = []

    def step(kind: str, conf: dict[str, Any]) -> dict[str, Any] | None:
        dag_id = f"{kind}__{country}"
        say(f"[{country}] {month} {dag_id} started")
        outcome = run(dag_id, conf) | {"month": month, "kind": kind}
        outcomes.append(outcome)
        failed = sorted(
            task for task, info in outcome.get("tasks", {}).items() if info["state"] == "failed"
        )
        detail = f" (failed: {', '.join(failed)})" if failed else ""
        say(
            f"[{country}] {month} {dag_id} {outcome['state']} in {outcome.get('seconds')} s{detail}"
        )
        return outcome if outcome["state"] == "success" else None

    trained = step("train", {"data_month": month})
    if trained is None:
        return outcomes
    challenger = _return_value(trained, "register_model_version")
    if step("evaluate", {"model_package_arn": challenger["model_package_arn"]}) is None:
        return outcomes
    if step("deploy", {}) is None:
        return outcomes
    if with_batch:
        step("batch_inference", {"data_month": month})
    return outcomes


def worker_main(args: argparse.Namespace) -> int:
    """Run the plan (one entry per month) in this process, so Airflow starts once per country.

    Each month names its own countries file (the code-table version changes with regulation);
    the DAG files and tasks read it through MLOPS_COUNTRIES_FILE.
    """
    outcomes: list[dict[str, Any]] = []
    for entry in json.loads(args.plan):
        os.environ["MLOPS_COUNTRIES_FILE"] = entry["countries_file"]
        month_outcomes = run_month(args.country, entry["month"], entry["with_batch"])
        outcomes += month_outcomes
        Path(args.result).write_text(json.dumps(outcomes, indent=2, default=str))
        if not month_outcomes or any(o["state"] != "success" for o in month_outcomes):
            return 1
    return 0


# --------------------------------------------------------------------------------------------
# The driver.
# --------------------------------------------------------------------------------------------


@dataclass
class CountryRun:
    country: str
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def last(self, kind: str) -> dict[str, Any] | None:
        found = [o for o in self.outcomes if o.get("kind") == kind]
        return found[-1] if found else None

    @property
    def ok(self) -> bool:
        return self.error is None and all(o["state"] == "success" for o in self.outcomes)


def next_month(month: str) -> str:
    year, mon = map(int, month.split("-"))
    return f"{year + 1}-01" if mon == 12 else f"{year}-{mon + 1:02d}"


def write_countries_file(path: Path, countries: list[str], code_table_version: str) -> Path:
    """The default countries file, restricted to ``countries`` and the month's code table."""
    document = yaml.safe_load(COUNTRIES_FILE.read_text())
    wanted = set(countries)
    unknown = wanted - {entry["code"] for entry in document["countries"]}
    if unknown:
        raise SystemExit(f"--countries: {sorted(unknown)} not in {COUNTRIES_FILE}")
    for entry in document["countries"]:
        entry["enabled"] = entry["code"] in wanted
        entry["code_table_version"] = code_table_version
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def upload_tree(s3, local_root: Path, bucket: str, kms_key_arn: str) -> int:
    count = 0
    for path in sorted(local_root.rglob("*")):
        if path.is_file():
            s3.upload_file(
                str(path),
                bucket,
                path.relative_to(local_root).as_posix(),
                ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn},
            )
            count += 1
    return count


def run_country(country: str, plan: list[dict[str, Any]], env: dict[str, str], workdir: Path):
    """One worker process for the country: its months in order, its own Airflow home."""
    result = CountryRun(country)
    result_file = workdir / "results" / f"{country}.json"
    log_file = workdir / "logs" / f"{country}.log"
    command = [sys.executable, "-m", "local.demo", "--worker", "--country", country]
    command += ["--plan", json.dumps(plan), "--result", str(result_file)]
    with log_file.open("w") as log:
        proc = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=env | {"AIRFLOW_HOME": str(workdir / "airflow" / country)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result_file.exists():
        result.outcomes = json.loads(result_file.read_text())
    if proc.returncode != 0:
        result.error = f"a DAG run failed (log: {log_file})"
    return result


def summarize(run: CountryRun, stack, settings: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """What the final table shows for one country, read back from the stack."""
    cc = run.country
    row: dict[str, Any] = {"country": cc.upper(), "ok": run.ok, "error": run.error}
    current = stack.client("dynamodb").get_item(
        TableName=settings["winners_table"],
        Key={"pk": {"S": cc}, "sk": {"S": "CURRENT"}},
        ConsistentRead=True,
    )
    item = current.get("Item")
    if item:
        row["champion"] = item.get("model_name", {}).get("S")
        row["champion_month"] = item.get("data_month", {}).get("S")
        row["champion_version"] = item.get("version", {}).get("N")
    # The decisions as the winners table recorded them (append-only history), newest last.
    history = stack.client("dynamodb").query(
        TableName=settings["winners_table"],
        KeyConditionExpression="pk = :cc AND begins_with(sk, :history)",
        ExpressionAttributeValues={":cc": {"S": cc}, ":history": {"S": "HISTORY#"}},
        ConsistentRead=True,
    )["Items"]
    row["decisions"] = []
    for entry in (_from_dynamo(item) for item in history):
        decision = entry.get("decision", {})
        report_local = None
        report_uri = entry.get("candidate", entry).get("report_uri")
        if report_uri:
            bucket, key = report_uri.removeprefix("s3://").split("/", 1)
            month = entry.get("candidate", entry).get("data_month", "unknown")
            report_local = workdir / "reports" / f"{cc}-{month}-report.html"
            stack.client("s3").download_file(bucket, key, str(report_local))
        row["decisions"].append(
            {
                "month": entry.get("candidate", entry).get("data_month"),
                "outcome": entry.get("outcome"),
                "winner_changed": entry.get("outcome") == "promoted",
                "challenger_macro_f1": decision.get("challenger_score"),
                "champion_macro_f1": decision.get("champion_score"),
                "p_value": decision.get("p_value"),
                "reasons": "; ".join(decision.get("reasons", [])),
                "report": str(report_local) if report_local else None,
            }
        )
    batch = run.last("batch_inference")
    if batch:
        summary = _return_value(batch, "summarize") or {}
        row["rows_scored"] = summary.get("rows")
        row["rows_flagged"] = summary.get("needs_review")
    deploy = run.last("deploy")
    if deploy:
        verified = _return_value(deploy, "verify_endpoint") or {}
        endpoint = verified.get("EndpointName") or verified.get("endpoint_name")
        if endpoint:
            described = stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)
            row["endpoint"] = endpoint
            row["endpoint_status"] = described["EndpointStatus"]
            row["endpoint_config"] = described["EndpointConfigName"]
            row["prediction"] = live_prediction(stack, endpoint, cc, workdir)
    return row


def _from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return _plain({key: deserializer.deserialize(value) for key, value in item.items()})


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them floats/ints for printing and JSON."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def live_prediction(stack, endpoint: str, cc: str, workdir: Path) -> dict[str, Any]:
    """Send one product of the latest month to the endpoint."""
    samples = sorted((workdir / "data" / cc).glob("*/unlabeled/*.jsonl"))
    with samples[-1].open() as handle:
        product = json.loads(handle.readline())
    response = stack.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps(product),
    )
    answer = json.loads(response["Body"].read())
    if isinstance(answer, list):
        answer = answer[0]
    return {
        "title": product.get("title"),
        "label": answer["label"],
        "confidence": answer["confidence"],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    say("\n" + "=" * 100)
    for row in rows:
        status = "OK" if row["ok"] else f"FAILED — {row['error']}"
        say(f"{row['country']}  {status}")
        say(
            f"  champion        {row.get('champion', '-')} (data {row.get('champion_month', '-')},"
            f" winners version {row.get('champion_version', '-')})"
        )
        for decision in row.get("decisions", []):
            say(
                f"  {decision['month']} decision  {decision['outcome']}: challenger macro-F1 "
                f"{_fmt(decision['challenger_macro_f1'])} vs champion "
                f"{_fmt(decision['champion_macro_f1'])}, p={_fmt(decision['p_value'])}"
            )
            say(f"                  reasons: {decision['reasons']}")
            say(f"                  report:  {decision['report']}")
        if "endpoint" in row:
            prediction = row["prediction"]
            say(
                f"  endpoint        {row['endpoint']}: {row['endpoint_status']} on "
                f"{row['endpoint_config']}"
            )
            say(
                f"  live prediction {prediction['title']!r} -> {prediction['label']} "
                f"(confidence {prediction['confidence']:.2f})"
            )
        if "rows_scored" in row:
            say(
                f"  batch           {row['rows_scored']} rows scored, "
                f"{row['rows_flagged']} flagged for review"
            )
    say("=" * 100)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def driver_main(args: argparse.Namespace) -> int:
    from local.demodata import code_table_version, generate_month
    from local.provision import load_local_settings, provision
    from local.slack_sink import SlackSink
    from local.stack import LocalStack

    started = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stack's per-request lines
    countries = [c.strip().lower() for c in args.countries.split(",") if c.strip()]
    months = [args.first_month, next_month(args.first_month)]
    workdir = Path(args.workdir).resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    for sub in ("results", "logs", "reports", "airflow", "data"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)

    def on_slack(message: dict[str, Any]) -> None:
        say(f"[slack] {message.get('text', '')}")

    with (
        SlackSink(on_message=on_slack) as sink,
        LocalStack(port=0, workdir=workdir / "stack") as stack,
    ):
        say(f"local stack on {stack.endpoint_url}; Slack sink on {sink.url}")
        settings = provision(stack.client, load_local_settings())
        for cc in countries:
            for month in months:
                generate_month(
                    workdir / "data",
                    cc,
                    month,
                    args.items,
                    seed=args.seed,
                    regulation_change_from=months[1],
                )
        uploaded = upload_tree(
            stack.client("s3"), workdir / "data", settings["data_bucket"], settings["kms_key_arn"]
        )
        say(
            f"demo data: {len(countries)} countries x {len(months)} months, "
            f"{args.items} labeled items each ({uploaded} files)"
        )

        base_env = airflow_environ(
            workdir / "airflow" / "template", stack.environ(), settings, sink.url
        )
        plan = [
            {
                "month": month,
                "countries_file": str(
                    write_countries_file(
                        workdir / f"countries-{month}.yaml",
                        countries,
                        code_table_version(month, months[1]),
                    )
                ),
                "with_batch": index == 0,
            }
            for index, month in enumerate(months)
        ]
        migrate(base_env)
        for cc in countries:
            shutil.copytree(workdir / "airflow" / "template", workdir / "airflow" / cc)

        runs: dict[str, CountryRun] = {}
        threads = [
            threading.Thread(
                target=lambda cc=cc: runs.__setitem__(cc, run_country(cc, plan, base_env, workdir)),
                name=f"demo-{cc}",
            )
            for cc in countries
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        rows = [summarize(runs[cc], stack, settings, workdir) for cc in countries]
        print_table(rows)
        elapsed = time.monotonic() - started
        (workdir / "summary.json").write_text(
            json.dumps(
                {"seconds": elapsed, "countries": rows, "slack_messages": len(sink.messages)},
                indent=2,
                default=str,
            )
        )
        say(
            f"demo finished in {elapsed:.0f} s; {len(sink.messages)} Slack notifications; "
            f"details in {workdir}"
        )

    failures = [row["country"] for row in rows if not row["ok"]]
    regulation = [
        row["country"]
        for row in rows
        if row["ok"] and not (row["decisions"] and row["decisions"][-1]["winner_changed"])
    ]
    if failures:
        say(f"FAILED: {', '.join(failures)}")
        return 1
    if regulation:
        say(f"FAILED: the month-2 challenger did not win for {', '.join(regulation)}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--countries", default=",".join(DEFAULT_COUNTRIES), help="comma-separated ISO codes"
    )
    parser.add_argument(
        "--items", type=int, default=DEFAULT_ITEMS, help="labeled items per country and month"
    )
    parser.add_argument(
        "--first-month",
        default=FIRST_MONTH,
        help="YYYY-MM; the next month brings the regulation change",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=str(REPO_ROOT / ".local-stack" / "demo"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--country", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
