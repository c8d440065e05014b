"""One country through two months on Airflow's real components (scheduler, triggerer, dag
processor, API server, LocalExecutor, PostgreSQL), started only by its data landing.

Month 1 has no champion; month 2 (the regulation change) has one: both transforms, the comparison
against the champion's metrics, the endpoint update with a canary, the batch with the new winner.
The loop runs once for the module (local/loop.py, as `make demo` drives it); each test reads what
it left in Airflow, the winners table and the stack.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from mlops.config import DAG_KINDS
from mlops.events import marker_key
from mlops.winners import WinnersRegistry

from local.airflow_cluster import AirflowCluster
from local.loop import LoopDriver, onboard, timeline
from local.pipeline import LOCAL_CANARY, LocalEnvironment, local_training_budget

# Two whole months on Airflow's real components: about 10 minutes on a quiet 2-core machine; the
# suite's 900 s per test (which covers this module's fixture) leaves too little room on a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

COUNTRY = "gb"
MONTHS = ["2026-10", "2026-11"]


def _budget(entry: dict) -> dict:
    """The local training budget, and for gb a canary for the endpoint update of month 2."""
    budget = local_training_budget(entry)
    if entry.get("code") == COUNTRY:
        budget["endpoint"] = {"canary": LOCAL_CANARY}
    return budget


@pytest.fixture(scope="module")
def loop():
    # PostgreSQL runs as an unprivileged user: its directory must be reachable by it (pytest's
    # tmp dirs are 0700).
    workdir = Path(tempfile.mkdtemp(prefix="mlops-loop-", dir="/tmp"))
    workdir.chmod(0o711)
    try:
        yield from _run_loop(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_loop(workdir: Path):
    with LocalEnvironment(
        workdir, [COUNTRY], MONTHS, items=1200, country_overrides=_budget, upload=False
    ) as local:
        countries_file = local.workdir / "countries.yaml"
        countries_file.write_text(local.countries_files[MONTHS[0]].read_text())
        (model,) = local.models
        with AirflowCluster(
            local.workdir / "airflow" / "cluster",
            local.env | {"MLOPS_COUNTRIES_FILE": str(countries_file)},
            expect_dags=[model.dag_id(kind) for kind in DAG_KINDS],
            console=None,
        ) as cluster:
            onboard(local, cluster, countries_file)
            origin = datetime.now(UTC)
            driver = LoopDriver(local, cluster.api, countries_file, say=lambda _: None)
            driver.month(MONTHS[0])
            driver.month(MONTHS[1], local.countries_files[MONTHS[1]].read_text())
            yield {
                "local": local,
                "cluster": cluster,
                "driver": driver,
                "model": model,
                "origin": origin,
            }


def _outcomes(loop, kind: str) -> dict[str, dict]:
    """The model's outcome of ``kind`` per month."""
    run = loop["driver"].result.runs[loop["model"].key]
    return {o["month"]: o for o in run.outcomes if o["kind"] == kind}


def _value(outcome: dict, task: str):
    return outcome["xcoms"].get(task, {}).get("return_value")


def _winners(loop) -> WinnersRegistry:
    local = loop["local"]
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=local.stack.endpoint_url,
        region_name=local.stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local stack's placeholder
    )
    return WinnersRegistry(dynamodb.Table(local.settings["winners_table"]))


def test_every_run_of_both_months_was_started_by_an_event(loop):
    result = loop["driver"].result
    assert result.ok, {key: run.error for key, run in result.runs.items()}
    for kind in DAG_KINDS:
        outcomes = _outcomes(loop, kind)
        assert sorted(outcomes) == MONTHS, kind
        for month, outcome in outcomes.items():
            assert outcome["state"] == "success", (kind, month, outcome["tasks"])
            assert outcome["run_type"] == "asset_triggered", (kind, month)
    assert result.actions == []  # gb deploys by itself: nobody triggered anything


def test_month_two_transforms_the_champion_and_its_output_reaches_the_evaluation_job(loop):
    evaluate = _outcomes(loop, "evaluate")
    assert evaluate[MONTHS[0]]["tasks"]["transform_champion"]["state"] == "skipped"
    champion_transform = _value(evaluate[MONTHS[1]], "transform_champion")["Transform"]
    champion_output = champion_transform["TransformOutput"]["S3OutputPath"]
    job = _value(evaluate[MONTHS[1]], "evaluate_models")["Processing"]
    inputs = {item["InputName"]: item["S3Input"]["S3Uri"] for item in job["ProcessingInputs"]}
    assert champion_output.rstrip("/") in {uri.rstrip("/") for uri in inputs.values()}, inputs
    # The evaluation job read it: its metrics hold the champion's scores.
    metrics = _metrics(loop, evaluate[MONTHS[1]])
    assert metrics["champion"]["macro_f1"] > 0


def _metrics(loop, evaluate_outcome: dict) -> dict:
    import json

    report = _value(evaluate_outcome, "compare")["report_uri"]
    bucket, key = report.removeprefix("s3://").split("/", 1)
    s3 = loop["local"].stack.client("s3")
    body = s3.get_object(Bucket=bucket, Key=key.rsplit("/", 1)[0] + "/metrics.json")["Body"]
    return json.loads(body.read())


def test_month_two_decides_against_the_champions_own_scores(loop):
    evaluate = _outcomes(loop, "evaluate")
    history = _winners(loop).history(loop["model"].key)
    assert [entry["data_month"] for entry in history] == MONTHS
    first, second = (entry["decision"] for entry in history)
    assert first["champion_score"] is None  # month 1: no champion
    metrics = _metrics(loop, evaluate[MONTHS[1]])
    assert float(second["champion_score"]) == pytest.approx(metrics["champion"]["macro_f1"])
    assert float(second["challenger_score"]) == pytest.approx(metrics["challenger"]["macro_f1"])
    assert second["p_value"] is not None  # the paired test ran on both models' items


def test_evaluate_takes_the_challenger_from_its_triggering_event(loop):
    cluster, model = loop["cluster"], loop["model"]
    for month in MONTHS:
        registered = _value(_outcomes(loop, "train")[month], "register_model_version")
        evaluate = _outcomes(loop, "evaluate")[month]
        events = cluster.api.call(
            "GET",
            f"/dags/{model.dag_id('evaluate')}/dagRuns/{quote(evaluate['run_id'], safe='')}"
            "/upstreamAssetEvents",
        )["asset_events"]
        assert [e["extra"]["model_package_arn"] for e in events] == [
            registered["model_package_arn"]
        ]
        plan = _value(evaluate, "build_requests")
        assert plan["challenger_from"] == "the triggering challenger event"
        challenger = plan["challenger"]
        assert challenger["model_package_arn"] == registered["model_package_arn"]
        assert challenger["data_month"] == month


def test_month_two_updates_the_endpoint_through_a_canary_to_the_new_winner(loop):
    sagemaker = loop["local"].stack.client("sagemaker")
    deploy = _outcomes(loop, "deploy")
    first = _value(deploy[MONTHS[0]], "verify_endpoint")
    second = _value(deploy[MONTHS[1]], "verify_endpoint")
    assert first["endpoint_name"] == second["endpoint_name"]
    described = sagemaker.describe_endpoint(EndpointName=second["endpoint_name"])
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == second["endpoint_config_name"]
    assert first["endpoint_config_name"] != second["endpoint_config_name"]
    routing = described["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert routing["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=second["endpoint_config_name"])
    winner = _winners(loop).current(loop["model"].key)
    assert config["ProductionVariants"][0]["ModelName"] == winner["model_name"]


def test_month_two_batch_scores_with_the_new_winner(loop):
    winner = _winners(loop).current(loop["model"].key)
    assert winner["data_month"] == MONTHS[1]
    batch = _outcomes(loop, "batch_inference")
    transform = _value(batch[MONTHS[1]], "batch_transform")["Transform"]
    assert transform["ModelName"] == winner["model_name"]
    assert _value(batch[MONTHS[1]], "summarize")["rows"] > 0
    first = _value(batch[MONTHS[0]], "batch_transform")["Transform"]
    assert first["ModelName"] != winner["model_name"]


def test_a_replayed_marker_trains_nothing_again(loop):
    local, cluster, model = loop["local"], loop["cluster"], loop["model"]
    sagemaker = local.stack.client("sagemaker")
    jobs_before = len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    replayed_at = datetime.now(UTC)
    local.stack.client("s3").put_object(
        Bucket=local.settings["data_bucket"],
        Key=marker_key(model, MONTHS[1], "labeled"),
        Body=b"",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=local.settings["kms_key_arn"],
    )
    deadline = time.monotonic() + 300
    while True:
        runs = [
            r
            for r in cluster.api.runs(model.dag_id("train"))
            if datetime.fromisoformat(r["queued_at"]) >= replayed_at
        ]
        if runs and runs[0]["state"] in ("success", "failed"):
            break
        assert time.monotonic() < deadline, f"no run of {model.dag_id('train')} after the replay"
        time.sleep(2)
    (run,) = runs
    states = {
        ti["task_id"]: ti["state"]
        for ti in cluster.api.task_instances(model.dag_id("train"), run["dag_run_id"])
    }
    assert run["state"] == "success", states
    assert states["build_requests"] == "skipped"
    assert set(states.values()) == {"skipped"}, states  # nothing downstream ran or failed
    jobs_after = len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    assert jobs_after == jobs_before


def test_the_timeline_names_what_started_each_run(loop):
    rows = timeline(loop["cluster"].api, [loop["model"]], loop["origin"])
    started = {(row["dag_id"], row["started_by"]) for row in rows if "skipped" not in row["state"]}
    name = loop["model"].country
    assert (f"train__{name}", f"asset landing__labeled__{name}") in started
    assert (f"evaluate__{name}", f"asset challenger__{name}") in started
    assert (f"batch_inference__{name}", f"asset landing__unlabeled__{name}") in started
