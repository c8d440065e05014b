"""Notifications: message formatting, and delivery through the provider notifiers to a real
SNS topic (moto, read back through an SQS subscription) and a real local Slack webhook server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
from mlops.notifications import METRICS_XCOM_KEY, RunNotifier, format_message, run_link
from moto import mock_aws


def test_success_message_names_country_run_link_and_metrics():
    subject, text = format_message(
        succeeded=True,
        dag_id="evaluate__de",
        run_id="manual__2026-11-22T03:00:00+00:00",
        link="http://127.0.0.1:8080/dags/evaluate__de/runs/x",
        metrics={"challenger_macro_f1": 0.91234, "outcome": "promoted"},
    )
    assert subject == "[DE] evaluate succeeded: manual__2026-11-22T03:00:00+00:00"
    assert "country: de" in text
    assert "run: manual__2026-11-22T03:00:00+00:00" in text
    assert "challenger_macro_f1: 0.9123" in text
    assert "outcome: promoted" in text
    assert "link: http://127.0.0.1:8080/dags/evaluate__de/runs/x" in text


def test_a_scheme_models_message_names_country_and_scheme():
    subject, text = format_message(
        succeeded=True, dag_id="train__de__batteries", run_id="r1", link="L"
    )
    assert subject == "[DE batteries] train succeeded: r1"
    assert "country: de" in text
    assert "scheme: batteries" in text


def test_a_default_models_message_has_no_scheme_line():
    _, text = format_message(succeeded=True, dag_id="train__de", run_id="r1", link="L")
    assert "scheme" not in text


def test_failure_message_names_task_and_first_error_line():
    subject, text = format_message(
        succeeded=False,
        dag_id="train__fr",
        run_id="r1",
        link="L",
        error="AirflowException: job failed\nTraceback ...",
        task_id="tune",
    )
    assert subject == "[FR] train FAILED: r1"
    assert "failed task: tune" in text
    assert "error: AirflowException: job failed" in text
    assert "Traceback" not in text


def test_subject_fits_sns_limit_on_one_line():
    subject, _ = format_message(
        succeeded=True, dag_id="batch_inference__gb", run_id="x\n" * 80, link="L"
    )
    assert len(subject) <= 100 and "\n" not in subject


def test_run_link_points_at_the_airflow3_run_page_with_the_id_escaped():
    link = run_link("http://127.0.0.1:8080/", "train__de", "manual__2026-11-22T03:00:00+00:00")
    assert link == (
        "http://127.0.0.1:8080/dags/train__de/runs/manual__2026-11-22T03%3A00%3A00%2B00%3A00"
    )


class _SlackSink(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _TaskInstance:
    """The attributes of a running task instance that the notifier reads."""

    dag_id = "evaluate__de"
    run_id = "manual__2026-11-22T03:00:00+00:00"
    task_id = "compare"

    def xcom_pull(self, task_ids, key):
        assert (task_ids, key) == ("compare", METRICS_XCOM_KEY)
        return {"challenger_macro_f1": 0.9, "outcome": "promoted"}


@pytest.fixture
def slack_sink():
    _SlackSink.received = []
    server = HTTPServer(("127.0.0.1", 0), _SlackSink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_success_is_delivered_to_sns_and_slack(monkeypatch, slack_sink, settings_dict):
    for var in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    webhook = f"http://127.0.0.1:{slack_sink.server_port}/hook"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_WEBHOOK",
        json.dumps({"conn_type": "slackwebhook", "password": webhook}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws"}))
    with mock_aws():
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="mlops-local-notifications")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv(
            "AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(settings_dict | {"sns_topic_arn": topic})
        )

        RunNotifier(succeeded=True, metrics_task_id="compare").notify({"ti": _TaskInstance()})

        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == "[DE] evaluate succeeded: manual__2026-11-22T03:00:00+00:00"
    assert "challenger_macro_f1: 0.9000" in envelope["Message"]
    assert len(_SlackSink.received) == 1
    assert "evaluate__de succeeded" in _SlackSink.received[0]["text"]
    assert "link: http://127.0.0.1:8080/dags/evaluate__de/runs/" in _SlackSink.received[0]["text"]


def test_a_broken_channel_does_not_stop_the_other(monkeypatch, slack_sink, settings_dict):
    webhook = f"http://127.0.0.1:{slack_sink.server_port}/hook"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_WEBHOOK",
        json.dumps({"conn_type": "slackwebhook", "password": webhook}),
    )
    # No SNS reachable at all: the endpoint is a closed loopback port.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws"}))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(settings_dict))

    RunNotifier(succeeded=False).notify({"ti": _TaskInstance(), "exception": RuntimeError("boom")})

    assert len(_SlackSink.received) == 1
    assert "error: RuntimeError: boom" in _SlackSink.received[0]["text"]
