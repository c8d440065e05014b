"""`make demo`: the whole monthly loop, for real, on this machine, as on MWAA.

Starts the local AWS + SageMaker stack and a Slack webhook sink, creates the resources the DAGs
expect (the names Terraform outputs, the landing queues and the bucket's notification included),
generates demo catalogs, and starts Airflow's real components on PostgreSQL: scheduler, triggerer,
dag processor and API server, with the LocalExecutor (local/airflow_cluster.py). From then on the
demo only does what people and upstream systems do (local/loop.py): it uploads each month's data
(the ``_SUCCESS`` marker last: its event starts everything), deploys where a model wants a
person to, and watches. Every enabled model of the chosen countries runs (DE also classifies
batteries: ``de-batteries``, DAGs ``train__de__batteries``, ...):

  month 1: labeled lands -> train -> evaluate (the first model becomes champion) -> deploy
           -> unlabeled lands -> batch_inference
  month 2 (the regulation change: the countries file moves to the new code-table version):
           the same, with a champion: both transforms, the comparison against the champion, the
           endpoint update (with canary where configured), the batch with the new winner

It ends with a table per model and the timeline (which DAG ran when, started by what), and exits
non-zero if any run failed or a month-2 challenger did not win.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from mlops.config import DAG_KINDS, Model
from mlops.steps import approval_reason
from mlops.winners import WinnersRegistry

from local.airflow_env import REPO_ROOT
from local.demodata.scenarios import SCENARIOS, rewrite_labeled
from local.pipeline import (
    LocalEnvironment,
    ModelRun,
    local_training_budget,
    next_month,
    return_value,
    say,
)

DEFAULT_COUNTRIES = ("de", "fr", "gb")
# The person who approves the promotions of models with evaluation.approval human (fr), in the
# Airflow UI's Required Actions or, here, through the REST API under their own login.
APPROVER = "camille.martin"
FIRST_MONTH = "2026-10"
DEFAULT_ITEMS = 3000
DEFAULT_BAD_MONTH = "swapped-labels"  # passes every data gate: the golden set must refuse it
# --------------------------------------------------------------------------------------------
# The driver.
# --------------------------------------------------------------------------------------------


def summarize(
    run: ModelRun, model: Model, stack, settings: dict[str, Any], workdir: Path
) -> dict[str, Any]:
    """What the final table shows for one model, read back from the stack."""
    row: dict[str, Any] = {
        "model": model.label,
        "key": model.key,
        "ok": run.ok,
        "error": run.error,
    }
    winners = WinnersRegistry(
        boto3.resource(
            "dynamodb",
            endpoint_url=stack.endpoint_url,
            region_name=stack.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - the local stack's placeholder
        ).Table(settings["winners_table"])
    )
    current = winners.current(model.key)
    if current:
        row["champion"] = current.get("model_name")
        row["champion_month"] = current.get("data_month")
        row["champion_version"] = current.get("version")
    # The decisions as the winners table recorded them (append-only history), oldest first.
    row["decisions"] = []
    for entry in winners.history(model.key):
        decision = entry.get("decision", {})
        report_local = None
        report_uri = entry.get("report_uri")
        if report_uri:
            bucket, key = report_uri.removeprefix("s3://").split("/", 1)
            report_local = (
                workdir / "reports" / f"{model.key}-{entry.get('data_month')}-report.html"
            )
            stack.client("s3").download_file(bucket, key, str(report_local))
        row["decisions"].append(
            {
                "month": entry.get("data_month"),
                "outcome": entry.get("outcome"),
                "winner_changed": entry.get("outcome") == "promoted",
                "challenger_macro_f1": decision.get("challenger_score"),
                "champion_macro_f1": decision.get("champion_score"),
                "p_value": decision.get("p_value"),
                "reasons": "; ".join(decision.get("reasons", [])),
                "approval": approval_reason(decision["approval"])
                if decision.get("approval")
                else None,
                "report": str(report_local) if report_local else None,
            }
        )
    batch = run.last("batch_inference")
    if batch:
        summary = return_value(batch, "summarize") or {}
        row["rows_scored"] = summary.get("rows")
        row["rows_flagged"] = summary.get("needs_review")
    deploy = run.last("deploy")
    if deploy:
        verified = return_value(deploy, "verify_endpoint") or {}
        endpoint = verified.get("EndpointName") or verified.get("endpoint_name")
        if endpoint:
            described = stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)
            row["endpoint"] = endpoint
            row["endpoint_status"] = described["EndpointStatus"]
            row["endpoint_config"] = described["EndpointConfigName"]
            row["prediction"] = live_prediction(stack, endpoint, workdir / "data" / model.prefix)
    return row


def latest_unlabeled_product(model_data: Path) -> dict[str, Any]:
    """The first unlabeled product of the latest month under one model's data directory.

    ``*/unlabeled`` is one level down only: a country's default model (``de/``) does not pick up
    its schemes' months (``de/batteries/<month>/``).
    """
    samples = sorted(model_data.glob("*/unlabeled/*.jsonl"))
    if not samples:
        raise FileNotFoundError(f"{model_data}: no <month>/unlabeled/*.jsonl to send")
    with samples[-1].open() as handle:
        return json.loads(handle.readline())


def live_prediction(stack, endpoint: str, model_data: Path) -> dict[str, Any]:
    """Send one product of the model's latest month (under ``model_data``) to the endpoint."""
    product = latest_unlabeled_product(model_data)
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


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The final table as text: one block per model (``DE``, ``DE batteries``, ...)."""
    lines = ["\n" + "=" * 100]
    for row in rows:
        status = "OK" if row["ok"] else f"FAILED — {row['error']}"
        lines.append(f"{row['model']}  {status}")
        lines.append(
            f"  champion        {row.get('champion', '-')} (data {row.get('champion_month', '-')},"
            f" winners version {row.get('champion_version', '-')})"
        )
        for decision in row.get("decisions", []):
            lines.append(
                f"  {decision['month']} decision  {decision['outcome']}: challenger macro-F1 "
                f"{_fmt(decision['challenger_macro_f1'])} vs champion "
                f"{_fmt(decision['champion_macro_f1'])}, p={_fmt(decision['p_value'])}"
            )
            lines.append(f"                  reasons: {decision['reasons']}")
            if decision.get("approval"):
                lines.append(f"                  approval: {decision['approval']}")
            lines.append(f"                  report:  {decision['report']}")
        if "endpoint" in row:
            prediction = row["prediction"]
            lines.append(
                f"  endpoint        {row['endpoint']}: {row['endpoint_status']} on "
                f"{row['endpoint_config']}"
            )
            lines.append(
                f"  live prediction {prediction['title']!r} -> {prediction['label']} "
                f"(confidence {prediction['confidence']:.2f})"
            )
        if "rows_scored" in row:
            lines.append(
                f"  batch           {row['rows_scored']} rows scored, "
                f"{row['rows_flagged']} flagged for review"
            )
    lines.append("=" * 100)
    return lines


def print_table(rows: list[dict[str, Any]]) -> None:
    for line in table_lines(rows):
        say(line)


def demo_failures(
    rows: list[dict[str, Any]], bad: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(models with a failed step, models whose month-2 challenger did not win), by label.

    A model with a bad month (``bad``: key → scenario) must keep its month-1 champion instead:
    the driver records its refusal, or fails it when the bad month was promoted.
    """
    bad = bad or {}
    failed = [row["model"] for row in rows if not row["ok"]]
    kept_champion = [
        row["model"]
        for row in rows
        if row["ok"]
        and row["key"] not in bad
        and not (row["decisions"] and row["decisions"][-1]["winner_changed"])
    ]
    return failed, kept_champion


def parse_bad_months(values: list[str], models: list[Model]) -> dict[str, str]:
    """``--bad-month`` values → model key → scenario, checked against the demo's models."""
    keys = {model.key for model in models}
    chosen: dict[str, str] = {}
    for value in values:
        key, _, scenario = value.partition(":")
        key, scenario = key.strip().lower(), (scenario.strip() or DEFAULT_BAD_MONTH)
        if key not in keys:
            raise SystemExit(
                f"--bad-month {value}: {key!r} is not one of this demo's models "
                f"({', '.join(sorted(keys))})"
            )
        if scenario not in SCENARIOS:
            raise SystemExit(
                f"--bad-month {value}: unknown scenario {scenario!r} "
                f"(one of {', '.join(SCENARIOS)})"
            )
        chosen[key] = scenario
    return chosen


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _exit_on_sigterm(*_: object) -> None:
    # Once only: timeout(1) signals its child and then the child's whole process group, and a
    # second SystemExit inside the clean-up would leave the workers running without their stack.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(143)


def driver_main(args: argparse.Namespace) -> int:
    from local.airflow_cluster import AirflowCluster
    from local.loop import LoopDriver, onboard, sagemaker_jobs, timeline, timeline_lines

    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: the stack stops its jobs and servers.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = time.monotonic()
    countries = [c.strip().lower() for c in args.countries.split(",") if c.strip()]
    months = [args.first_month, next_month(args.first_month)]

    def on_slack(message: dict[str, Any]) -> None:
        say(f"[slack] {message.get('text', '')}")

    with LocalEnvironment(
        Path(args.workdir),
        countries,
        months,
        args.items,
        seed=args.seed,
        country_overrides=local_training_budget,
        on_slack=on_slack,
        upload=False,
    ) as local:
        say(f"local stack on {local.stack.endpoint_url}; Slack sink on {local.sink.url}")
        models = local.models
        say(
            f"demo data: {len(models)} models ({', '.join(m.key for m in models)}) x "
            f"{len(months)} months, {args.items} labeled items each; nothing uploaded yet"
        )
        bad = parse_bad_months(args.bad_month, models)
        for key, scenario in bad.items():
            (model,) = [m for m in models if m.key == key]
            labeled = local.workdir / "data" / model.prefix / months[1] / "labeled"
            written = rewrite_labeled(labeled, scenario)
            say(f"bad month: {key} {months[1]} labeled data is {scenario} ({written} records)")
        countries_file = local.workdir / "countries.yaml"
        countries_file.write_text(local.countries_files[months[0]].read_text())
        env = local.env | {"MLOPS_COUNTRIES_FILE": str(countries_file)}
        expected = [model.dag_id(kind) for model in models for kind in DAG_KINDS]
        say("starting Airflow on PostgreSQL: scheduler, triggerer, dag-processor, api-server")
        with AirflowCluster(
            local.workdir / "airflow" / "cluster",
            env,
            expect_dags=expected,
            users={APPROVER: "user"},
        ) as cluster:
            say(
                f"Airflow UI {cluster.url} (user {cluster.username}, password in "
                f"{cluster.password_file}); component logs in {cluster.logs}"
            )
            for line in onboard(local, cluster, countries_file).splitlines():
                say(f"[sync-airflow] {line}")
            origin = datetime.now(UTC)
            driver = LoopDriver(
                local,
                cluster.api,
                countries_file,
                say=say,
                approver=cluster.client(APPROVER),
                bad_months={key: months[1] for key in bad},
            )
            for index, month in enumerate(months):
                text = None if index == 0 else local.countries_files[month].read_text()
                if text is not None:
                    say(f"{month}: the regulation change (countries file on the new code table)")
                driver.month(month, text)
            rows = [
                summarize(driver.result.runs[m.key], m, local.stack, local.settings, local.workdir)
                for m in models
            ]
            runs = timeline(cluster.api, models, origin)
            jobs = sagemaker_jobs(local.stack.client("sagemaker"))
        print_table(rows)
        for refusal in driver.result.refusals:
            say(
                f"bad month {refusal['model']} {refusal['month']} ({bad[refusal['model']]}) "
                f"refused by the {refusal['by']}: {refusal['reasons']}"
            )
        for line in timeline_lines(runs, driver.result.landed, origin):
            say(line)
        elapsed = time.monotonic() - started
        (local.workdir / "summary.json").write_text(
            json.dumps(
                {
                    "seconds": elapsed,
                    "models": rows,
                    "timeline": runs,
                    "landed": [vars(item) for item in driver.result.landed],
                    "origin": origin.isoformat(),
                    "jobs": jobs,
                    "task_logs": str(cluster.home / "logs"),
                    "slack_messages": len(local.sink.messages),
                    "bad_months": bad,
                    "refusals": driver.result.refusals,
                },
                indent=2,
                default=str,
            )
        )
        say(
            f"demo finished in {elapsed:.0f} s; {len(local.sink.messages)} Slack notifications; "
            f"details in {local.workdir}"
        )

    failures, regulation = demo_failures(rows, bad)
    unrefused = sorted(set(bad) - {refusal["model"] for refusal in driver.result.refusals})
    if unrefused:
        say(f"FAILED: the bad month was not refused for {', '.join(unrefused)}")
        return 1
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
        "--countries",
        default=",".join(DEFAULT_COUNTRIES),
        help="comma-separated ISO codes; every enabled model (scheme) of each runs",
    )
    parser.add_argument(
        "--items", type=int, default=DEFAULT_ITEMS, help="labeled items per model and month"
    )
    parser.add_argument(
        "--first-month",
        default=FIRST_MONTH,
        help="YYYY-MM; the next month brings the regulation change",
    )
    parser.add_argument(
        "--bad-month",
        action="append",
        default=[],
        metavar="MODEL[:SCENARIO]",
        help="make the second month of MODEL (a model key: de, de-batteries, fr) bad; the demo "
        "then expects that month to be refused, with its reasons, while the others proceed. "
        f"SCENARIO: one of {', '.join(SCENARIOS)} (default {DEFAULT_BAD_MONTH})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=str(REPO_ROOT / ".local-stack" / "demo"))
    args = parser.parse_args(argv)
    return driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
