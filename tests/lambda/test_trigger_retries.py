"""Transient failures, paused DAGs and conf checks, through real components: a FlakyProxy (a real
HTTP server) between the local stack's MWAA and the real Airflow API server answers 5xx a given
number of times; the trigger Lambda runs in-process (handler) or deployed on the stack (CLI)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.support.param_cases import INVALID_CONFS, SECRET
from tests.support.trigger import (
    CLI,
    NO_RETRY_FUNCTION_NAME,
    LambdaContext,
    job_environment,
    trigger_dag,
    until_run_exists,
    wait_in_background,
)

RUNS = r"^/api/v2/dags/train__de/dagRuns$"


def rid() -> str:
    return f"gitlab-{uuid.uuid4().hex[:8]}-1"


def runs_named(airflow_api, dag_id: str, run_id: str) -> int:
    return [r["dag_run_id"] for r in airflow_api.runs(dag_id)].count(run_id)


# ---------------------------------------------------------------- the Lambda (in-process)
def test_airflow_5xx_is_retried_until_the_run_starts(trigger_handler, flaky_airflow, airflow_api):
    plan = flaky_airflow.fail("POST", RUNS, 2)
    run_id = rid()
    answer = trigger_handler.handler({"dag_id": "train__de", "run_id": run_id}, LambdaContext())
    assert (answer["statusCode"], answer["created"]) == (201, True), answer
    assert plan.hits == 2
    assert runs_named(airflow_api, "train__de", run_id) == 1


def test_a_post_that_took_effect_before_its_500_is_the_same_run(
    trigger_handler, flaky_airflow, airflow_api
):
    plan = flaky_airflow.fail("POST", RUNS, 1, after_forwarding=True)
    run_id = rid()
    event = {"dag_id": "train__de", "run_id": run_id, "conf": {"data_month": "2026-09"}}
    answer = trigger_handler.handler(event, LambdaContext())
    # The retried POST got Airflow's 409; the run it names has this conf: success, not created.
    assert (answer["statusCode"], answer["created"], answer["run_id"]) == (200, False, run_id)
    assert plan.hits == 1
    assert runs_named(airflow_api, "train__de", run_id) == 1


def test_a_run_id_airflow_has_with_another_conf_is_a_409_conflict(trigger_handler, airflow_api):
    run_id = rid()
    first = {"dag_id": "train__fr", "run_id": run_id, "conf": {"data_month": "2026-09"}}
    assert trigger_handler.handler(first, LambdaContext())["statusCode"] == 201
    other = first | {"conf": {"data_month": "2026-10"}}
    answer = trigger_handler.handler(other, LambdaContext())
    assert (answer["statusCode"], answer["error"], answer["field"]) == (
        409,
        "run_id_conflict",
        "run_id",
    )
    assert airflow_api.call("GET", f"/dags/train__fr/dagRuns/{run_id}")["conf"] == first["conf"]


def test_airflow_failing_past_the_deadline_gives_502_after_several_attempts(
    trigger_handler, flaky_airflow, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_RETRY_SECONDS", "2")
    plan = flaky_airflow.fail("POST", RUNS, None, status=503)
    answer = trigger_handler.handler({"dag_id": "train__de", "run_id": rid()}, LambdaContext())
    assert (answer["statusCode"], answer["error"], answer["airflow_status"]) == (
        502,
        "airflow_error",
        503,
    )
    assert plan.hits >= 2
    assert f"(after {plan.hits} attempts)" in answer["message"]


def test_an_airflow_4xx_is_not_retried(trigger_handler, flaky_airflow):
    plan = flaky_airflow.fail("POST", RUNS, None, status=422)
    answer = trigger_handler.handler({"dag_id": "train__de", "run_id": rid()}, LambdaContext())
    assert (answer["statusCode"], answer["error"]) == (400, "rejected_by_airflow")
    assert plan.hits == 1


def test_a_post_without_run_id_is_not_retried_so_it_never_starts_two_runs(
    trigger_handler, flaky_airflow
):
    plan = flaky_airflow.fail("POST", RUNS, 1, after_forwarding=True)
    answer = trigger_handler.handler({"dag_id": "train__de"}, LambdaContext())
    assert (answer["statusCode"], answer["airflow_status"]) == (502, 500)
    assert plan.hits == 1


@pytest.mark.parametrize(("dag_id", "conf", "field"), INVALID_CONFS)
def test_an_invalid_conf_gives_400_naming_the_field_not_the_value(
    trigger_handler, airflow_api, dag_id, conf, field
):
    run_id = rid()
    answer = trigger_handler.handler(
        {"dag_id": dag_id, "conf": conf, "run_id": run_id}, LambdaContext()
    )
    assert (answer["statusCode"], answer["error"], answer["field"]) == (400, "bad_request", field)
    assert SECRET not in answer["message"] and "987654" not in answer["message"]
    assert field in answer["message"]
    assert runs_named(airflow_api, dag_id, run_id) == 0


def test_the_model_level_rule_is_airflows_own_and_comes_back_as_400(trigger_handler, airflow_api):
    # A GPU type passes the kind-level schema; DE trains on Trainium, so its Params refuse it.
    run_id = rid()
    answer = trigger_handler.handler(
        {"dag_id": "train__de", "conf": {"instance_type": "ml.g5.xlarge"}, "run_id": run_id},
        LambdaContext(),
    )
    assert (answer["statusCode"], answer["error"], answer["field"]) == (
        400,
        "rejected_by_airflow",
        "conf.instance_type",
    ), answer
    assert "ml.g5.xlarge" not in answer["message"]
    assert runs_named(airflow_api, "train__de", run_id) == 0


# ---------------------------------------------------------------- trigger-dag (subprocess)
def test_the_cli_retries_the_lambdas_502_until_the_run_starts(stack, flaky_airflow, airflow_api):
    plan = flaky_airflow.fail("POST", RUNS, 2)
    run_id = rid()
    done = trigger_dag(
        stack, "--dag", "train__de", "--run-id", run_id, TRIGGER_LAMBDA_NAME=NO_RETRY_FUNCTION_NAME
    )
    assert done.returncode == 0, done.stderr
    assert plan.hits == 2
    assert "transient failure, retry 1 in" in done.stdout
    assert "transient failure, retry 2 in" in done.stdout
    assert "502 airflow_error" in done.stdout
    assert runs_named(airflow_api, "train__de", run_id) == 1


def test_the_cli_gives_up_at_its_retry_deadline_with_the_last_error(stack, flaky_airflow):
    flaky_airflow.fail("POST", RUNS, None)
    done = trigger_dag(
        stack,
        "--dag",
        "train__de",
        "--run-id",
        rid(),
        "--retry-deadline",
        "3s",
        TRIGGER_LAMBDA_NAME=NO_RETRY_FUNCTION_NAME,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "within the retry deadline (3 s)" in done.stderr
    assert "502 airflow_error" in done.stderr


def test_the_cli_does_not_retry_a_refusal(stack):
    done = trigger_dag(stack, "--dag", "maintenance__de")
    assert done.returncode == 2
    assert "retry" not in done.stdout + done.stderr


def test_the_cli_fails_fast_on_a_paused_dag_with_the_command_that_unpauses_it(stack, airflow_api):
    run_id = rid()
    airflow_api.call("PATCH", "/dags/batch_inference__de", {"is_paused": True})
    try:
        done = trigger_dag(
            stack, "--dag", "batch_inference__de", "--run-id", run_id, "--wait", "--timeout", "3h"
        )
    finally:
        airflow_api.call("PATCH", "/dags/batch_inference__de", {"is_paused": False})
    assert done.returncode == 2
    assert "409 dag_paused (field dag_id)" in done.stderr
    assert "--method PATCH --path /dags/batch_inference__de" in done.stderr
    assert runs_named(airflow_api, "batch_inference__de", run_id) == 0


def test_a_waiting_cli_stops_when_its_dag_gets_paused(stack, airflow_api):
    run_id = rid()
    job = wait_in_background(stack, "evaluate__de", run_id, "--timeout", "3h")
    until_run_exists(airflow_api, "evaluate__de", run_id)
    airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": True})
    try:
        _out, err = job.communicate(timeout=90)
    finally:
        airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": False})
    assert job.returncode == 2, err
    assert f"evaluate__de is paused in Airflow: run {run_id} stays queued" in err
    assert "--path /dags/evaluate__de" in err


@pytest.mark.parametrize(
    ("dag_id", "conf", "field"),
    [case for case in INVALID_CONFS if case[2] in ("conf.hpo_max_jobs", "conf.canary_percent")],
)
def test_the_cli_refuses_an_invalid_conf_before_any_call(stack, dag_id, conf, field):
    env = job_environment(stack, TRIGGER_LAMBDA_NAME="no-such-function")
    done = subprocess.run(
        [str(CLI), "--dag", dag_id, "--conf", json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"--conf: {field} must be" in done.stderr
    assert SECRET not in done.stderr and "987654" not in done.stderr
    assert "no-such-function" not in done.stderr  # refused before invoking anything
