"""The trigger Lambda's handler, in-process, against the local stack's MWAA and a real Airflow."""

from __future__ import annotations

import json
import uuid

import botocore
import pytest

from tests.support.trigger import MWAA_ENVIRONMENT, UI_BASE, LambdaContext, load_handler_module


def run_id() -> str:
    return f"gitlab-{uuid.uuid4().hex[:8]}-1"


def test_trigger_starts_a_run_with_the_conf_and_answers_its_id_and_link(
    trigger_handler, airflow_api
):
    rid = run_id()
    answer = trigger_handler.handler(
        {
            "action": "trigger",
            "dag_id": "train__de",
            "conf": {"data_month": "2026-10"},
            "run_id": rid,
        },
        LambdaContext(),
    )
    assert answer["statusCode"] == 201, answer
    assert answer["created"] is True
    assert answer["run_id"] == rid
    assert answer["state"] == "queued"
    assert answer["url"] == f"{UI_BASE}/dags/train__de/runs/{rid}"
    run = airflow_api.call("GET", f"/dags/train__de/dagRuns/{rid}")
    assert run["conf"] == {"data_month": "2026-10"}
    assert run["logical_date"] is not None


def test_a_scheme_model_s_dag_is_allowed_by_the_default_patterns(trigger_handler, airflow_api):
    """DE's batteries scheme (include/config/countries.yaml) has DAG ids <kind>__de__batteries."""
    rid = run_id()
    answer = trigger_handler.handler(
        {"dag_id": "train__de__batteries", "run_id": rid}, LambdaContext()
    )
    assert (answer["statusCode"], answer["run_id"]) == (201, rid), answer
    assert airflow_api.call("GET", f"/dags/train__de__batteries/dagRuns/{rid}")["dag_run_id"] == rid


def test_a_paused_dag_is_refused_with_409_and_the_command_that_unpauses_it(
    trigger_handler, airflow_api
):
    rid = run_id()
    airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": True})
    try:
        answer = trigger_handler.handler({"dag_id": "evaluate__de", "run_id": rid}, LambdaContext())
    finally:
        airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": False})
    assert (answer["statusCode"], answer["error"], answer["field"]) == (
        409,
        "dag_paused",
        "dag_id",
    ), answer
    command = (
        f"aws mwaa invoke-rest-api --name {MWAA_ENVIRONMENT} --method PATCH "
        """--path /dags/evaluate__de --body '{"is_paused": false}'"""
    )
    assert answer["unpause_command"] == command
    assert command in answer["message"]
    assert rid not in {r["dag_run_id"] for r in airflow_api.runs("evaluate__de")}
    unpaused = trigger_handler.handler({"dag_id": "evaluate__de", "run_id": rid}, LambdaContext())
    assert (unpaused["statusCode"], unpaused["dag_paused"]) == (201, False)


def test_status_of_a_waiting_run_says_when_its_dag_was_paused(trigger_handler, airflow_api):
    rid = run_id()
    trigger_handler.handler({"dag_id": "deploy__de", "run_id": rid}, LambdaContext())
    event = {"action": "status", "dag_id": "deploy__de", "run_id": rid}
    running = trigger_handler.handler(event, LambdaContext())
    airflow_api.call("PATCH", "/dags/deploy__de", {"is_paused": True})
    try:
        paused = trigger_handler.handler(event, LambdaContext())
    finally:
        airflow_api.call("PATCH", "/dags/deploy__de", {"is_paused": False})
    assert (running["dag_paused"], paused["dag_paused"]) == (False, True)
    assert "--path /dags/deploy__de" in paused["unpause_command"]


def test_a_retried_trigger_with_the_same_run_id_returns_the_existing_run(
    trigger_handler, airflow_api
):
    rid = run_id()
    event = {"action": "trigger", "dag_id": "train__fr", "conf": {"hpo_max_jobs": 3}, "run_id": rid}
    first = trigger_handler.handler(event, LambdaContext())
    second = trigger_handler.handler(event, LambdaContext())
    assert (first["statusCode"], first["created"]) == (201, True)
    assert (second["statusCode"], second["created"]) == (200, False)
    assert second["run_id"] == rid
    assert [r["dag_run_id"] for r in airflow_api.runs("train__fr")].count(rid) == 1


def test_without_run_id_airflow_names_the_run(trigger_handler):
    answer = trigger_handler.handler({"dag_id": "evaluate__de"}, LambdaContext())
    assert answer["statusCode"] == 201, answer
    assert answer["run_id"].startswith("manual__")


def test_status_reports_the_state_and_whether_the_run_ended(trigger_handler, airflow_api):
    rid = run_id()
    trigger_handler.handler({"dag_id": "deploy__de", "run_id": rid}, LambdaContext())
    queued = trigger_handler.handler(
        {"action": "status", "dag_id": "deploy__de", "run_id": rid}, LambdaContext()
    )
    assert (queued["statusCode"], queued["state"], queued["finished"]) == (200, "queued", False)
    airflow_api.set_state("deploy__de", rid, "failed")
    ended = trigger_handler.handler(
        {"action": "status", "dag_id": "deploy__de", "run_id": rid}, LambdaContext()
    )
    assert (ended["state"], ended["finished"]) == ("failed", True)


def test_a_dag_outside_the_allowlist_is_refused_with_403_and_not_started(
    trigger_handler, airflow_api
):
    answer = trigger_handler.handler({"dag_id": "maintenance__de"}, LambdaContext())
    assert (answer["statusCode"], answer["error"], answer["field"]) == (
        403,
        "dag_not_allowed",
        "dag_id",
    )
    assert airflow_api.runs("maintenance__de") == []


def test_allowed_dag_patterns_from_the_environment_replace_the_default(
    trigger_handler, monkeypatch
):
    monkeypatch.setenv("ALLOWED_DAG_PATTERNS", r"^cleanup$, ^maintenance__[a-z]{2}$")
    assert trigger_handler.handler({"dag_id": "train__de"}, LambdaContext())["statusCode"] == 403
    assert trigger_handler.handler({"dag_id": "cleanup"}, LambdaContext())["statusCode"] == 201


def test_an_allowed_dag_airflow_does_not_know_gives_404(trigger_handler):
    answer = trigger_handler.handler({"dag_id": "train__zz"}, LambdaContext())
    assert (answer["statusCode"], answer["error"]) == (404, "unknown_dag")
    assert "train__zz" in answer["message"]


def test_status_of_an_unknown_run_gives_404(trigger_handler):
    answer = trigger_handler.handler(
        {"action": "status", "dag_id": "train__de", "run_id": "gitlab-0-0"}, LambdaContext()
    )
    assert (answer["statusCode"], answer["error"], answer["field"]) == (404, "not_found", "run_id")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"dag_id": "train__de", "conf": [1, 2]}, "conf"),
        ({"dag_id": "train__de", "conf": "{}"}, "conf"),
        ({"dag_id": "train__de", "conf": {"x": float("nan")}}, "conf"),
        ({"dag_id": "train__de", "conf": {"blob": "x" * 70_000}}, "conf"),
        ({"dag_id": "train__de", "run_id": "has space"}, "run_id"),
        ({"dag_id": "train__de", "run_id": 42}, "run_id"),
        ({"action": "status", "dag_id": "train__de"}, "run_id"),
        ({"action": "delete", "dag_id": "train__de"}, "action"),
        ({"dag_id": ""}, "dag_id"),
        ({"dag_id": ["train__de"]}, "dag_id"),
        ({"dag_id": "train__de", "dagid": "x"}, "dagid"),
    ],
)
def test_bad_input_gives_400_naming_the_field(trigger_handler, event, field):
    answer = trigger_handler.handler(event, LambdaContext())
    assert (answer["statusCode"], answer["error"], answer.get("field")) == (
        400,
        "bad_request",
        field,
    ), answer
    assert answer["message"]


@pytest.mark.parametrize("event", [None, "train__de", ["train__de"], 7])
def test_an_event_that_is_not_an_object_gives_400(trigger_handler, event):
    assert trigger_handler.handler(event, LambdaContext())["statusCode"] == 400


def test_conf_over_max_conf_bytes_is_refused(trigger_handler, monkeypatch):
    monkeypatch.setenv("MAX_CONF_BYTES", "20")
    answer = trigger_handler.handler(
        {"dag_id": "train__de", "conf": {"k": "a longer value"}}, LambdaContext()
    )
    assert answer["statusCode"] == 400
    assert "MAX_CONF_BYTES (20)" in answer["message"]


def test_airflow_unreachable_gives_502_carrying_the_reason(trigger_handler, stack, airflow_api):
    from local.stack.services import mwaa

    mwaa.configure(stack, "http://127.0.0.1:9", username="ci", password="unused")
    try:
        answer = trigger_handler.handler({"dag_id": "train__de"}, LambdaContext())
    finally:
        mwaa.configure(
            stack, airflow_api.url, username=airflow_api.username, password=airflow_api.password
        )
    assert (answer["statusCode"], answer["error"], answer["airflow_status"]) == (
        502,
        "airflow_error",
        502,
    )
    assert "did not answer" in answer["message"]


def test_missing_environment_name_is_a_clear_configuration_error(trigger_handler, monkeypatch):
    monkeypatch.delenv("MWAA_ENVIRONMENT_NAME")
    answer = trigger_handler.handler({"dag_id": "train__de"}, LambdaContext())
    assert (answer["statusCode"], answer["error"]) == (500, "misconfigured")
    assert "MWAA_ENVIRONMENT_NAME" in answer["message"]


def test_a_botocore_without_invoke_rest_api_fails_with_a_clear_message(
    trigger_handler, monkeypatch
):
    # The only stand-in here: an old botocore cannot be installed beside the current one.
    monkeypatch.setattr(botocore, "__version__", "1.34.162")
    answer = trigger_handler.handler({"dag_id": "train__de"}, LambdaContext())
    assert (answer["statusCode"], answer["error"]) == (500, "misconfigured")
    assert "1.34.162" in answer["message"] and "1.35.47" in answer["message"]


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("1.35.46", False),
        ("1.35.47", True),
        ("1.36.0", True),
        ("2.0.0rc1", True),
        ("1.9.99", False),
    ],
)
def test_botocore_version_check(version, supported):
    assert load_handler_module().botocore_version_supported(version) is supported


def test_an_unexpected_exception_becomes_a_500_answer_not_a_crash(trigger_handler, monkeypatch):
    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(trigger_handler, "trigger", broken)
    answer = trigger_handler.handler({"dag_id": "train__de"}, LambdaContext("req-boom"))
    assert (answer["statusCode"], answer["error"], answer["request_id"]) == (
        500,
        "internal",
        "req-boom",
    )


def test_logs_are_json_lines_with_the_request_id_and_no_conf_values(trigger_handler, capsys):
    trigger_handler.handler(
        {
            "dag_id": "train__de",
            "conf": {"hyperparameters": {"token": "s3cr3t-value"}},
            "run_id": run_id(),
        },
        LambdaContext("req-log-1"),
    )
    trigger_handler.handler({"dag_id": "nope"}, LambdaContext("req-log-2"))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert {e["request_id"] for e in entries} == {"req-log-1", "req-log-2"}
    assert all("s3cr3t-value" not in line for line in lines)
    assert [e["statusCode"] for e in entries] == [201, 403]


def test_the_function_package_needs_nothing_but_the_standard_library_and_boto3():
    import ast
    import sys

    from tests.support.trigger import REPO

    tree = ast.parse((REPO / "include" / "trigger_lambda" / "handler.py").read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0
        for alias in node.names
    }
    own = {path.stem for path in (REPO / "include" / "trigger_lambda").glob("*.py")}
    assert imported - set(sys.stdlib_module_names) - own == {"boto3", "botocore"}
    schema_module = (REPO / "include" / "trigger_lambda" / "conf_schema.py").read_text()
    assert {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(schema_module))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } <= set(sys.stdlib_module_names)
