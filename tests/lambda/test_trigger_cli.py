"""trigger-dag run exactly as a GitLab job runs it: a fresh process, environment only.

The job's environment points boto3 at the local stack (AWS_ENDPOINT_URL, dummy credentials);
the CLI invokes the deployed trigger Lambda, which the stack runs from its zip in a subprocess,
which calls MWAA InvokeRestApi, which the stack forwards to the real Airflow API server. Runs end
when the test sets their state through Airflow's API (no scheduler runs here).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.support.trigger import (
    CLI,
    REPO,
    UI_BASE,
    job_environment,
    trigger_dag,
    until_run_exists,
    wait_in_background,
)


def test_a_gitlab_job_starts_a_run_with_its_conf_and_prints_id_and_link(stack, airflow_api):
    done = trigger_dag(
        stack,
        "--dag",
        "train__de",
        "--conf",
        '{"data_month": "2026-10", "hpo_max_jobs": 2}',
        CI_PIPELINE_ID="4711",
        CI_JOB_ID=uuid.uuid4().hex[:6],
    )
    assert done.returncode == 0, done.stderr
    run_id = next(
        line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("run_id: ")
    )
    assert run_id.startswith("gitlab-4711-")
    assert f"url: {UI_BASE}/dags/train__de/runs/{run_id}" in done.stdout
    run = airflow_api.call("GET", f"/dags/train__de/dagRuns/{run_id}")
    assert run["conf"] == {"data_month": "2026-10", "hpo_max_jobs": 2}
    assert run["state"] == "queued"


def test_a_retried_job_with_the_same_run_id_creates_no_second_run(stack, airflow_api, tmp_path):
    run_id = f"gitlab-{uuid.uuid4().hex[:6]}-9"
    first = trigger_dag(stack, "--dag", "evaluate__de", "--run-id", run_id)
    second = trigger_dag(
        stack, "--dag", "evaluate__de", "--run-id", run_id, "--dotenv", str(tmp_path / "run.env")
    )
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert "started" in first.stdout
    assert "found existing run" in second.stdout
    assert [r["dag_run_id"] for r in airflow_api.runs("evaluate__de")].count(run_id) == 1
    assert f"DAG_RUN_ID={run_id}\n" in (tmp_path / "run.env").read_text()


def test_wait_exits_zero_when_the_run_succeeds(stack, airflow_api):
    run_id = f"gitlab-{uuid.uuid4().hex[:6]}-1"
    job = wait_in_background(stack, "deploy__de", run_id, "--timeout", "2m")
    until_run_exists(airflow_api, "deploy__de", run_id)
    airflow_api.set_state("deploy__de", run_id, "success")
    out, err = job.communicate(timeout=90)
    assert job.returncode == 0, err
    assert f"deploy__de {run_id} ended: success" in out


def test_wait_exits_one_when_the_run_fails(stack, airflow_api):
    run_id = f"gitlab-{uuid.uuid4().hex[:6]}-2"
    job = wait_in_background(stack, "train__fr", run_id, "--timeout", "2m")
    until_run_exists(airflow_api, "train__fr", run_id)
    airflow_api.set_state("train__fr", run_id, "failed")
    out, err = job.communicate(timeout=90)
    assert job.returncode == 1, err
    assert f"train__fr {run_id} ended: failed" in out


def test_wait_exits_three_when_the_run_outlasts_the_timeout(stack):
    run_id = f"gitlab-{uuid.uuid4().hex[:6]}-3"
    job = wait_in_background(stack, "batch_inference__de", run_id, "--timeout", "2s")
    out, err = job.communicate(timeout=90)
    assert job.returncode == 3, (out, err)
    assert "did not end within 2 s" in err


def test_a_refused_dag_exits_two_with_the_lambdas_reason(stack, airflow_api):
    done = trigger_dag(stack, "--dag", "maintenance__de")
    assert done.returncode == 2
    assert "403 dag_not_allowed (field dag_id)" in done.stderr
    assert airflow_api.runs("maintenance__de") == []


def test_no_function_name_is_a_usage_error(stack):
    env = job_environment(stack)
    del env["TRIGGER_LAMBDA_NAME"]
    done = subprocess.run(
        [str(CLI), "--dag", "train__de"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "TRIGGER_LAMBDA_NAME" in done.stderr


def test_conf_that_is_not_a_json_object_is_refused_before_any_call(stack):
    done = trigger_dag(stack, "--dag", "train__de", "--conf", "[1, 2]")
    assert done.returncode == 2
    assert "--conf must be a JSON object" in done.stderr


def test_the_train_job_script_triggers_each_country_and_fails_when_one_run_fails(
    stack, airflow_api, tmp_path
):
    # The job image's python3 is the one with boto3 (here: this interpreter).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = job_environment(
        stack,
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        TRIGGER_ACTION="train",
        COUNTRY="de fr",
        DATA_MONTH="2026-10",
        CI_PIPELINE_ID=uuid.uuid4().hex[:6],
        CI_JOB_ID="77",
        TRIGGER_TIMEOUT="2m",
        TRIGGER_POLL_INTERVAL="1s",
    )
    job = subprocess.Popen(
        [str(REPO / "scripts" / "ci_trigger.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runs = {cc: f"gitlab-{env['CI_PIPELINE_ID']}-77-{cc}" for cc in ("de", "fr")}
    for cc, run_id in runs.items():
        until_run_exists(airflow_api, f"train__{cc}", run_id)
    assert airflow_api.call("GET", f"/dags/train__de/dagRuns/{runs['de']}")["conf"] == {
        "data_month": "2026-10"
    }
    airflow_api.set_state("train__de", runs["de"], "success")
    airflow_api.set_state("train__fr", runs["fr"], "failed")
    out, _ = job.communicate(timeout=120)
    assert job.returncode == 1, out
    assert f"[train__de] train__de {runs['de']} ended: success" in out
    assert "failed or timed out: train__fr" in out
