"""An asset event whose consuming DAG a person paused is reported: an error in the task log and a
Slack + SNS message naming the DAG, the event and the commands to unpause and re-trigger. The
paused state is the real Airflow API server's; SNS is the local stack's (read back through an SQS
subscription), Slack a loopback webhook."""

from __future__ import annotations

import json
import logging
import urllib.error
import uuid

import pytest
from airflow.sdk.execution_time.comms import DagResult
from mlops.config import get_model
from mlops.downstream import report_paused_downstream

from local.slack_sink import SlackSink
from tests.support.trigger import REPO

SETTINGS = json.loads((REPO / "include" / "config" / "settings.local.json").read_text())
PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-de/3"
EVENT = "mlops://challenger/de"


class _TaskInstance:
    """What the emitting task's ``ti`` offers the check: its ids and the Task SDK's get_dag,
    answered from the real API server."""

    dag_id = "train__de"
    run_id = "manual__2026-11-02T06:00:00+00:00"

    def __init__(self, airflow_api):
        self.airflow_api = airflow_api

    def get_dag(self, dag_id: str) -> DagResult:
        dag = self.airflow_api.call("GET", f"/dags/{dag_id}")
        return DagResult(
            dag_id=dag["dag_id"],
            is_paused=dag["is_paused"],
            bundle_name=dag.get("bundle_name"),
            bundle_version=dag.get("bundle_version"),
            relative_fileloc=dag.get("relative_fileloc"),
            owners=None,
            tags=[],
            next_dagrun=None,
        )


@pytest.fixture
def channels(stack, monkeypatch):
    """SNS topic with an SQS inbox on the local stack, a Slack sink, the settings naming both."""
    for name, value in stack.environ().items():
        monkeypatch.setenv(name, value)
    sns, sqs = stack.client("sns"), stack.client("sqs")
    topic = sns.create_topic(Name="mlops-local-paused")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"paused-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv(
        "AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(SETTINGS | {"sns_topic_arn": topic})
    )
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws"}))
    with SlackSink() as slack:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SLACK_WEBHOOK",
            json.dumps({"conn_type": "slackwebhook", "password": slack.url}),
        )

        def sns_messages() -> list[dict]:
            answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            return [json.loads(m["Body"]) for m in answer.get("Messages", [])]

        yield slack, sns_messages


@pytest.fixture
def evaluate_paused(airflow_api):
    airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": True})
    yield
    airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": False})


def report(airflow_api, **kwargs) -> bool:
    return report_paused_downstream(
        {"ti": _TaskInstance(airflow_api)},
        get_model("de"),
        "evaluate",
        EVENT,
        {"model_package_arn": PACKAGE},
        **kwargs,
    )


def test_an_event_for_a_paused_dag_is_logged_and_notified(
    airflow_api, channels, evaluate_paused, caplog
):
    slack, sns_messages = channels
    with caplog.at_level(logging.ERROR, logger="mlops.downstream"):
        assert report(airflow_api) is True

    unpause = "airflow dags unpause evaluate__de"
    conf = json.dumps({"model_package_arn": PACKAGE})
    retrigger = f"scripts/trigger-dag --dag evaluate__de --conf '{conf}'"
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("evaluate__de is paused" in line and EVENT in line for line in logged), logged
    [message] = sns_messages()
    assert message["Subject"] == f"[DE] evaluate__de is PAUSED: {EVENT} not consumed"
    for text in (message["Message"], slack.messages[0]["text"]):
        assert "emitted by train__de (run manual__2026-11-02T06:00:00+00:00)" in text
        assert unpause in text
        assert retrigger in text
    assert len(slack.messages) == 1


def test_an_event_for_an_active_dag_reports_nothing(airflow_api, channels, caplog):
    slack, sns_messages = channels
    airflow_api.call("PATCH", "/dags/evaluate__de", {"is_paused": False})
    with caplog.at_level(logging.ERROR, logger="mlops.downstream"):
        assert report(airflow_api) is False
    assert (slack.messages, sns_messages()) == ([], [])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_failed_lookup_is_logged_and_never_raises(airflow_api, channels, caplog):
    slack, _ = channels

    def lookup(dag_id: str) -> bool:
        return airflow_api.call("GET", f"/dags/{dag_id}__missing")["is_paused"]

    with caplog.at_level(logging.ERROR, logger="mlops.downstream"):
        assert report(airflow_api, is_paused=lookup) is False
    assert any(
        "could not check whether evaluate__de" in r.getMessage() and r.exc_info
        for r in caplog.records
    )
    assert isinstance(caplog.records[-1].exc_info[1], urllib.error.HTTPError)
    assert slack.messages == []
