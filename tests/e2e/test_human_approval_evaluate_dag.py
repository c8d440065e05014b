"""A person approves a promotion in the evaluate DAG, on Airflow's real components (scheduler,
triggerer, dag processor, API server, LocalExecutor, PostgreSQL), and a timeout rejects one.

Two models with ``evaluation.approval: human``: ``fr`` as the repository's countries file sets it
(3 days to answer) and ``gb``, set to human with a 60-second timeout in this test's countries
file. Each model's month is prepared and trained on the local stack (the train steps' own
requests) and registered as its challenger, so that each is scored on its own golden set. Only
the evaluate DAG is parsed. Both evaluate runs go through their transforms,
the evaluate job and decide, then wait in ``approve``: fr's is answered through the REST API by
``camille.martin`` (a user of her own, role ``user``), gb's is left to time out.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from mlops import steps
from mlops.config import get_model
from mlops.pools import load_pools
from mlops.settings import parse_settings
from mlops.winners import WinnersRegistry

from local.airflow_cluster import AirflowCluster, ClusterError
from local.loop import LoopDriver, approval_request
from local.pipeline import LocalEnvironment, local_training_budget
from tests.support.local_stack import wait_for

pytestmark = pytest.mark.slow

MONTH = "2026-10"
APPROVER = "camille.martin"
TIMEOUT_SECONDS = 60  # gb's: the countries file's minimum
WAIT = 1200.0  # generous: every component, the stack's jobs and pytest share two cores


def _overrides(entry: dict) -> dict:
    budget = local_training_budget(entry)
    # What is tested is the approval, not the model: the policy must allow each small test model
    # (a floor it might miss on a given run would skip the question and fail the test by chance).
    lenient = {"absolute_floor": 0.0, "golden_min_class_recall": 0.0}
    budget["evaluation"] = {**entry.get("evaluation", {}), **lenient}
    if entry.get("code") == "gb":
        budget["evaluation"] |= {"approval": "human", "approval_timeout_seconds": TIMEOUT_SECONDS}
    return budget


def _completed(describe, status_key: str) -> dict:
    answer = wait_for(describe, status_key, timeout=600)
    assert answer[status_key] == "Completed", answer.get("FailureReason")
    return answer


def _challengers(local) -> dict[str, str]:
    """Each model's own month prepared, trained and registered as its challenger (each is scored
    on its own golden set, in its own codes): model key -> model package ARN."""
    settings = parse_settings(local.settings)
    countries = local.countries_files[MONTH]
    sagemaker = local.stack.client("sagemaker")
    packages = {}
    for key in ("fr", "gb"):
        model = get_model(key, countries)
        plan = steps.plan_training(
            settings,
            model,
            run_id=f"manual__approval-test-{key}",
            data_month=MONTH,
            dynamodb=_dynamodb(local),  # no winner yet: no drift reference
        )
        sagemaker.create_processing_job(**plan["prepare_request"])
        job = plan["prepare_request"]["ProcessingJobName"]
        prepared = {
            "Processing": _completed(
                lambda job=job: sagemaker.describe_processing_job(ProcessingJobName=job),
                "ProcessingJobStatus",
            )
        }
        tuned = {"Tuning": {"BestTrainingJob": {"TunedHyperParameters": {}}}}
        request = steps.training_request_after_tuning(settings, model, plan["run"], prepared, tuned)
        sagemaker.create_training_job(**request)
        name = request["TrainingJobName"]
        trained = {
            "Training": _completed(
                lambda name=name: sagemaker.describe_training_job(TrainingJobName=name),
                "TrainingJobStatus",
            )
        }
        created = steps.model_request_after_training(settings, model, plan["run"], trained)
        sagemaker.create_model(**created)
        packages[key] = steps.register_challenger(
            sagemaker, settings, model, plan["run"], prepared, trained, {"Model": created}
        ).value["model_package_arn"]
    return packages


def _task_state(cluster, dag_id: str, run_id: str, task_id: str) -> str | None:
    states = {ti["task_id"]: ti["state"] for ti in cluster.api.task_instances(dag_id, run_id)}
    return states.get(task_id)


def _wait_for_task_state(cluster, dag_id: str, run_id: str, task_id: str, state: str) -> None:
    deadline = time.monotonic() + WAIT
    while (seen := _task_state(cluster, dag_id, run_id, task_id)) != state:
        run = cluster.api.run(dag_id, run_id)
        if run["state"] in ("success", "failed") or time.monotonic() > deadline:
            tasks = {t["task_id"]: t["state"] for t in cluster.api.task_instances(dag_id, run_id)}
            raise ClusterError(f"{dag_id} {run_id}: {task_id} never {state} (now {seen}): {tasks}")
        time.sleep(2)


@pytest.fixture(scope="module")
def approval():
    # PostgreSQL runs as an unprivileged user: its directory must be reachable by it.
    workdir = Path(tempfile.mkdtemp(prefix="mlops-approval-", dir="/tmp"))
    workdir.chmod(0o711)
    try:
        yield from _run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(workdir: Path):
    with LocalEnvironment(
        workdir, ["fr", "gb"], [MONTH], items=1200, country_overrides=_overrides
    ) as local:
        packages = _challengers(local)
        dags = local.workdir / "dags"  # the evaluate DAG only
        dags.mkdir()
        (dags / "evaluate.py").symlink_to(Path(__file__).resolve().parents[2] / "dags/evaluate.py")
        env = local.env | {
            "MLOPS_COUNTRIES_FILE": str(local.countries_files[MONTH]),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        }
        with AirflowCluster(
            local.workdir / "airflow" / "cluster",
            env,
            expect_dags=["evaluate__fr", "evaluate__gb"],
            users={APPROVER: "user"},
            console=None,
        ) as cluster:
            for pool in load_pools("local"):  # what sync_airflow creates
                cluster.api.call("POST", "/pools", {"name": pool.name, **pool.settings()})
            runs = {}
            triggered = datetime.now(UTC)
            for key, arn in packages.items():
                dag_id, run_id = f"evaluate__{key}", f"manual__approval-{key}"
                cluster.api.trigger_dag(dag_id, {"model_package_arn": arn}, run_id=run_id)
                runs[key] = (dag_id, run_id)
            for dag_id, run_id in runs.values():
                _wait_for_task_state(cluster, dag_id, run_id, "approve", "awaiting_input")
            # Both wait: what the person sees, and what the waits hold (the tasks of both runs
            # are all done or waiting on approve: nothing else of them can run meanwhile).
            asked = {key: approval_request(cluster.api, *runs[key]) for key in runs}
            default_pool = cluster.api.call("GET", "/pools/default_pool")
            # The demo's approver answers fr's (local/loop.py, as make demo does), not gb's.
            driver = LoopDriver(
                local,
                cluster.api,
                local.countries_files[MONTH],
                say=lambda _: None,
                approver=cluster.client(APPROVER),
            )
            fr = next(model for model in local.models if model.key == "fr")
            driver.approve(fr, MONTH, triggered)
            answer = approval_request(cluster.api, *runs["fr"])
            finished = {key: cluster.api.wait_for_run(*runs[key], timeout=WAIT) for key in runs}
            yield {
                "local": local,
                "cluster": cluster,
                "packages": packages,
                "runs": runs,
                "asked": asked,
                "answer": answer,
                "default_pool": default_pool,
                "actions": driver.result.actions,
                "finished": finished,
                "winners": _winners(local),
                "sagemaker": local.stack.client("sagemaker"),
            }


def _dynamodb(local):
    return boto3.resource(
        "dynamodb",
        endpoint_url=local.stack.endpoint_url,
        region_name=local.stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local stack's placeholder
    )


def _winners(local) -> WinnersRegistry:
    dynamodb = _dynamodb(local)
    return WinnersRegistry(
        dynamodb.Table(local.settings["winners_table"]),
        dynamodb.Table(local.settings["winners_history_table"]),
    )


def _xcom(approval, key: str, task_id: str):
    dag_id, run_id = approval["runs"][key]
    path = (
        f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        "?deserialize=true&stringify=false"
    )
    return approval["cluster"].api.call("GET", path)["value"]


def _package(approval, key: str) -> dict:
    return approval["sagemaker"].describe_model_package(ModelPackageName=approval["packages"][key])


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_each_run_waited_for_a_person_with_the_recommendation_and_report(approval):
    for key, request in approval["asked"].items():
        assert request["response_received"] is False, key
        assert request["options"] == ["Approve", "Reject"] and request["defaults"] == ["Reject"]
        decided = _xcom(approval, key, "decide")
        assert decided["decision"]["promote"] is True, decided["decision"]["reasons"]
        assert "Recommendation of the comparison policy: promote" in request["body"]
        assert f"`{decided['report_uri']}`" in request["body"]
        for reason in decided["decision"]["reasons"]:
            assert reason in request["body"]


def test_a_waiting_approval_holds_no_worker_or_pool_slot(approval):
    # awaiting_input: the task's process has exited (no trigger either, unlike a deferral).
    pool = approval["default_pool"]
    assert (pool["running_slots"], pool["queued_slots"], pool["deferred_slots"]) == (0, 0, 0)
    assert pool["occupied_slots"] == 0


def test_the_waiting_requests_were_announced_with_a_link_to_answer_them(approval):
    texts = [m.get("text", "") for m in approval["local"].sink.messages]
    for dag_id, run_id in approval["runs"].values():
        link = f"/dags/{dag_id}/runs/{run_id}/tasks/approve/required_actions"
        assert any("waits for a person" in t and link in t for t in texts), (dag_id, texts)


def test_the_approval_by_a_named_user_promotes_and_is_recorded_with_who_and_when(approval):
    answer = approval["answer"]
    assert answer["responded_by_user"]["name"] == APPROVER
    assert [a["action"] for a in approval["actions"]] == [
        f"approved by {APPROVER} ({approval['runs']['fr'][1]})"
    ]
    result = approval["finished"]["fr"]
    assert result.state == "success", result.task_states()
    assert _xcom(approval, "fr", "compare")["outcome"] == "promoted"
    winner = approval["winners"].current("fr")
    assert winner["model_package_arn"] == approval["packages"]["fr"]
    (item,) = approval["winners"].history("fr")
    recorded = item["decision"]["approval"]
    assert (recorded["mode"], recorded["by"], recorded["answer"]) == ("human", APPROVER, "approved")
    assert _moment(recorded["at"]) == _moment(answer["responded_at"])
    assert recorded["comment"] == f"{MONTH}: report read, recommendation followed (make demo)"
    package = _package(approval, "fr")
    assert package["ModelApprovalStatus"] == "Approved"
    assert (
        f"human approval: approved by {APPROVER} at {recorded['at']}"
        in (package["ApprovalDescription"])
    )


def test_no_answer_within_the_timeout_rejects_the_challenger(approval):
    result = approval["finished"]["gb"]
    assert result.state == "success", result.task_states()
    assert result.task_states()["winner_changed"] == "success"
    assert result.task_states()["publish_winner"] == "skipped"
    answered = _xcom(approval, "gb", "approve")
    assert answered["chosen_options"] == ["Reject"] and answered["responded_by_user"] is None
    assert _xcom(approval, "gb", "compare")["outcome"] == "kept_champion"
    assert approval["winners"].current("gb") is None
    (item,) = approval["winners"].history("gb")
    recorded = item["decision"]["approval"]
    assert (recorded["by"], recorded["answer"], recorded["timed_out"]) == (
        "timeout",
        "rejected",
        True,
    )
    assert item["decision"]["policy_promote"] is True  # the policy had recommended it
    package = _package(approval, "gb")
    assert package["ModelApprovalStatus"] == "Rejected"
    assert "human approval: rejected by timeout" in package["ApprovalDescription"]
