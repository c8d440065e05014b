"""One country through all four DAGs, for real, on the local stack — and the faults that must
lose nothing: racing evaluations, a training job killed mid-run.

The real DAG files run with `dag.test()` in worker processes (local/pipeline.py) against the
local AWS + SageMaker stack; jobs run the real image code. The tests share one environment and
run in file order: each builds on the state the previous one left (champion, endpoint).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import psutil
import pytest

from local.pipeline import LocalEnvironment, local_training_budget, return_value

pytestmark = pytest.mark.slow

COUNTRY = "gb"
MONTH = "2026-10"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    with LocalEnvironment(
        workdir, [COUNTRY], [MONTH], items=1500, country_overrides=local_training_budget
    ) as environment:
        yield environment


@pytest.fixture(scope="module")
def state():
    """What earlier tests produced and later ones build on."""
    return {}


def winners_items(local, prefix):
    # CURRENT lives in the winners table, HISTORY# items in its own history table.
    table = "winners_table" if prefix == "CURRENT" else "winners_history_table"
    response = local.stack.client("dynamodb").query(
        TableName=local.settings[table],
        KeyConditionExpression="pk = :cc AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":cc": {"S": COUNTRY}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    )
    return response["Items"]


def test_train_registers_a_pending_challenger_from_a_real_training_job(local, state):
    run = local.run(COUNTRY, [local.plan(MONTH, steps=["train"])], retries=0)
    assert run.ok, run.error
    challenger = return_value(run.last("train"), "register_model_version")
    sagemaker = local.stack.client("sagemaker")
    package = sagemaker.describe_model_package(ModelPackageName=challenger["model_package_arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    job = sagemaker.describe_training_job(TrainingJobName=challenger["training_job_name"])
    assert job["TrainingJobStatus"] == "Completed"
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:macro_f1"] >= 0.9
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"].removeprefix("s3://").split("/", 1)
    assert local.stack.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    state["challenger"] = challenger


def test_two_racing_evaluations_write_exactly_one_winner(local, state):
    arn = state["challenger"]["model_package_arn"]
    plan = [local.plan(MONTH, steps=["evaluate"], challenger=arn)]
    started = [local.start(COUNTRY, plan, name=f"race-{n}", retries=0) for n in (1, 2)]
    runs = [local.collect(COUNTRY, *worker) for worker in started]
    assert all(run.ok for run in runs), [run.error for run in runs]

    outcomes = sorted(return_value(run.last("evaluate"), "compare")["outcome"] for run in runs)
    assert outcomes == ["lost_race", "promoted"]
    current = winners_items(local, "CURRENT")
    assert len(current) == 1 and current[0]["version"]["N"] == "1"
    assert current[0]["model_package_arn"]["S"] == arn
    history = sorted(item["outcome"]["S"] for item in winners_items(local, "HISTORY#"))
    assert history == ["lost_race", "promoted"]
    state["champion"] = current[0]


def test_deploy_puts_the_winner_behind_a_serving_endpoint(local, state):
    run = local.run(COUNTRY, [local.plan(MONTH, steps=["deploy"])], retries=0)
    assert run.ok, run.error
    verified = return_value(run.last("deploy"), "verify_endpoint")
    endpoint = verified.get("EndpointName") or verified.get("endpoint_name")
    described = local.stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    answer = local.stack.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint,
        ContentType="application/json",
        Accept="application/json",
        Body=b'{"item_id": "x1", "title": "Kraftwerk Cordless Drill 18V", "description": '
        b'"drill with lithium battery", "brand": "Kraftwerk", "weight_kg": 1.6, '
        b'"screen_size_in": null, "battery": true, "power_source": "battery"}',
    )
    prediction = json.loads(answer["Body"].read())
    prediction = prediction[0] if isinstance(prediction, list) else prediction
    assert prediction["label"].startswith("UK-")
    assert 0.0 <= prediction["confidence"] <= 1.0


def test_batch_inference_scores_every_item_of_the_month(local, state):
    run = local.run(COUNTRY, [local.plan(MONTH, steps=["batch_inference"])], retries=0)
    assert run.ok, run.error
    summary = return_value(run.last("batch_inference"), "summarize")
    unlabeled = sum(
        1
        for path in (local.workdir / "data" / COUNTRY / MONTH / "unlabeled").glob("*.jsonl")
        for _ in path.open()
    )
    assert summary["rows"] == unlabeled
    listed = local.stack.client("s3").list_objects_v2(
        Bucket=local.settings["data_bucket"], Prefix=f"{COUNTRY}/{MONTH}/predictions/"
    )
    assert listed.get("KeyCount", 0) > 0


def _kill_final_training_job(local, found: dict, deadline: float) -> None:
    """Wait for the final training job (not a tuning child) and SIGKILL its process."""
    sagemaker = local.stack.client("sagemaker")
    while time.monotonic() < deadline:
        jobs = sagemaker.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"]
        final = [j["TrainingJobName"] for j in jobs if f"-{COUNTRY}-train-" in j["TrainingJobName"]]
        if final:
            name = final[0]
            for process in psutil.process_iter(["cmdline"]):
                try:
                    if "ml_training.train" in " ".join(process.info["cmdline"] or []) and name in (
                        process.environ().get("OPT_ML_DIR", "")
                    ):
                        os.kill(process.pid, signal.SIGKILL)
                        found["job"] = name
                        return
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
        time.sleep(0.2)


def test_a_training_job_killed_mid_run_fails_the_run_and_keeps_the_champion(local, state):
    messages_before = len(local.sink.messages)
    found: dict = {}
    killer = threading.Thread(
        target=_kill_final_training_job, args=(local, found, time.monotonic() + 600)
    )
    killer.start()
    run = local.run(COUNTRY, [local.plan(MONTH, steps=["train"])], retries=0)
    killer.join()

    assert "job" in found, "the final training job was never seen running"
    assert not run.ok
    assert run.last("train")["tasks"]["train_model"]["state"] == "failed"
    job = local.stack.client("sagemaker").describe_training_job(TrainingJobName=found["job"])
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"]
    failures = [
        m.get("text", "")
        for m in local.sink.messages[messages_before:]
        if "train__gb" in m.get("text", "") and "fail" in m.get("text", "").lower()
    ]
    assert failures, local.sink.messages[messages_before:]
    assert any(f"job {found['job']}: Failed" in text for text in failures), failures
    current = winners_items(local, "CURRENT")
    assert current == [state["champion"]]
