"""The batch run's drift: which inputs its postprocess job gets (moto S3), what its summary
reports, when it warns (strictly past a ``batch_inference.drift_alert_*`` threshold, never at or
below), and the warning's delivery to a real SNS topic (moto) and a real local Slack webhook."""

from __future__ import annotations

import json

import boto3
import pytest
from mlops import sagemaker_requests as requests
from mlops import steps
from mlops.batch_drift import drift_alerts, drift_metrics
from mlops.config import CountriesConfigError, get_model, load_models
from mlops.notifications import (
    ALERTS_XCOM_KEY,
    METRICS_XCOM_KEY,
    AlertNotifier,
    format_warning,
    on_success_or_warning,
)
from moto import mock_aws

from tests.unit.conftest import DEFAULT_COUNTRIES
from tests.unit.test_notifications import _SlackSink, slack_sink  # noqa: F401 - a fixture

REGION = "eu-west-1"
GB = get_model("gb", DEFAULT_COUNTRIES)
LIMITS = GB.batch_inference
RUN = {"run_id": "manual__batch", "data_month": "2026-10", "code_version": "abc"}


def figures(**overrides) -> dict:
    """summary.json's drift headline with every figure well inside the default thresholds."""
    batch = {
        "class_distance": 0.05,
        "text_length_shift": 0.02,
        "numeric_shift": {"weight_kg": 0.01, "screen_size_in": None},
        "vanished_classes": [],
        "items": 100,
    }
    batch.update(overrides)
    return {
        "reference": True,
        "batch": batch,
        "capture": None,
        "captured_records": 0,
        "problems": [],
    }


# ---------------------------------------------------------------- the alert decision
@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("class_distance", LIMITS.drift_alert_class_distance),
        ("text_length_shift", LIMITS.drift_alert_text_length_shift),
        ("weight_kg", LIMITS.drift_alert_numeric_shift),
    ],
)
def test_a_figure_alerts_past_its_threshold_and_not_at_or_below_it(field, limit):
    def with_value(number):
        if field == "weight_kg":
            return figures(numeric_shift={"weight_kg": number})
        return figures(**{field: number})

    assert drift_alerts(with_value(limit * 0.9), LIMITS) == []
    assert drift_alerts(with_value(limit), LIMITS) == []
    [alert] = drift_alerts(with_value(limit + 0.01), LIMITS)
    assert alert.startswith("month's items:")
    if field != "class_distance":  # a shift alerts in either direction
        assert len(drift_alerts(with_value(-(limit + 0.01)), LIMITS)) == 1


def test_thresholds_are_the_models_own():
    strict = GB.model_copy(
        update={"batch_inference": LIMITS.model_copy(update={"drift_alert_class_distance": 0.01})}
    )
    assert drift_alerts(figures(), LIMITS) == []
    [alert] = drift_alerts(figures(), strict.batch_inference)
    assert "class distance 0.050 > 0.01" in alert


def test_captured_requests_alert_on_their_own_figures():
    drift = figures()
    drift["capture"] = {
        "class_distance": 0.9,
        "text_length_shift": float("inf"),
        "numeric_shift": {"weight_kg": "inf"},  # JSON spells a non-finite shift as a string
        "vanished_classes": [],
        "items": 3,
    }
    alerts = drift_alerts(drift, LIMITS)
    assert len(alerts) == 3
    assert all(alert.startswith("captured requests:") for alert in alerts)


def test_a_problem_with_a_drift_input_is_a_warning():
    drift = figures()
    drift["problems"] = ["capture: 2 of 6 captured invocations could not be read"]
    assert drift_alerts(drift, LIMITS) == [
        "drift input: capture: 2 of 6 captured invocations could not be read"
    ]


def test_no_drift_no_alert_and_the_notification_says_why():
    assert drift_alerts(None, LIMITS) == []
    no_reference = {"reference": False, "batch": None, "capture": None, "problems": []}
    assert drift_alerts(no_reference, LIMITS) == []
    assert drift_metrics(no_reference, reference_note="the winner has no profile_uri") == {
        "drift": "not computed (the winner has no profile_uri)"
    }


def test_negative_thresholds_are_refused(tmp_path):
    path = tmp_path / "countries.yaml"
    path.write_text(
        "countries:\n  - code: de\n    code_table_version: v1\n"
        "    batch_inference: {drift_alert_class_distance: -0.1}\n"
    )
    with pytest.raises(CountriesConfigError, match="batch_inference.drift_alert_class_distance"):
        load_models(path)


# ---------------------------------------------------------------- the batch steps on S3
@pytest.fixture
def s3(monkeypatch, settings):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in (settings.data_bucket, settings.model_bucket):
            client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        yield client


def _put(s3, uri: str, text: str) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


def _inputs(request: dict) -> dict[str, str]:
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}


TRANSFORMED = {"Transform": {"TransformOutput": {"S3OutputPath": "s3://m/raw/"}}}


def test_postprocess_gets_the_reference_and_the_months_capture_only_when_they_exist(s3, settings):
    profile = f"s3://{settings.model_bucket}/gb/runs/r/prepare/profile/profile.json"

    def request():
        return steps.postprocess_request_after_transform(
            settings, GB, RUN, TRANSFORMED, s3=s3, profile_uri=profile
        )

    assert set(_inputs(request())) == {"predictions", "items"}
    _put(s3, profile, "{}")
    capture = requests.data_capture_month_uri(settings, GB, "2026-10")
    assert capture == f"s3://{settings.model_bucket}/gb/data-capture/mlops-gb/primary/2026/10/"
    _put(s3, capture.replace("/2026/10/", "/2026/09/") + "01/00/other-month.jsonl", "{}\n")
    assert _inputs(request())["reference_profile"] == profile
    assert "capture" not in _inputs(request())
    _put(s3, capture + "01/00/x.jsonl", "{}\n")
    assert _inputs(request())["capture"] == capture
    # The capture is where the endpoint config sends it.
    config = requests.endpoint_config_request(settings, GB, steps._identity(RUN), model_name="m")
    assert capture.startswith(config["DataCaptureConfig"]["DestinationS3Uri"])


def test_without_a_profile_uri_there_is_no_reference_input(s3, settings):
    request = steps.postprocess_request_after_transform(settings, GB, RUN, TRANSFORMED, s3=s3)
    assert "reference_profile" not in _inputs(request)


def summarized(s3, settings, drift, *, inputs=("predictions", "items", "reference_profile")):
    request = steps.postprocess_request_after_transform(settings, GB, RUN, TRANSFORMED)
    request["ProcessingInputs"] = [
        {"InputName": name, "S3Input": {"S3Uri": f"s3://x/{name}/"}} for name in inputs
    ]
    summary_uri = requests.processing_outputs(request)["summary"] + "summary.json"
    _put(s3, summary_uri, json.dumps({"rows": 10, "needs_review": 1, "drift": drift}))
    return steps.summarize(
        s3, RUN, "m", {"Processing": request}, model=GB, profile_uri="s3://p/profile.json"
    )


def test_summary_reports_the_drift_and_alerts_past_a_threshold(s3, settings):
    outcome = summarized(s3, settings, figures(class_distance=0.6))
    assert outcome.metrics["drift_batch_class_distance"] == 0.6
    assert outcome.metrics["drift_batch_largest_numeric_shift"] == "weight_kg +0.0100"
    assert outcome.metrics["drift_alerts"] == 1
    [alert] = outcome.value["drift_alerts"]
    assert "class distance 0.600" in alert


def test_summary_below_the_thresholds_alerts_nothing(s3, settings):
    outcome = summarized(s3, settings, figures())
    assert outcome.value["drift_alerts"] == []
    assert outcome.metrics["drift_alerts"] == 0
    assert outcome.metrics["drift_batch_class_distance"] == 0.05


def test_summary_says_why_there_is_no_drift(s3, settings):
    no_reference = {"reference": False, "batch": None, "capture": None, "problems": []}
    outcome = summarized(s3, settings, no_reference, inputs=("predictions", "items"))
    assert outcome.metrics["drift"] == (
        "not computed (the winner's profile s3://p/profile.json does not exist)"
    )


# ---------------------------------------------------------------- the warning's delivery
class _TaskInstance:
    dag_id = "batch_inference__gb"
    run_id = "manual__2026-11-02T07:15:00+00:00"
    task_id = "summarize"

    def __init__(self, alerts):
        self.alerts = alerts

    def xcom_pull(self, task_ids, key):
        assert task_ids == "summarize"
        if key == ALERTS_XCOM_KEY:
            return self.alerts
        assert key == METRICS_XCOM_KEY
        return {"rows": 10, "drift_batch_class_distance": 0.6}


def test_warning_names_the_model_and_each_alert():
    subject, text = format_warning(
        dag_id="batch_inference__de__batteries",
        run_id="r1",
        link="L",
        alerts=["month's items: class distance 0.600 > 0.25"],
        metrics={"rows": 10},
    )
    assert subject == "[DE batteries] batch_inference WARNING drift: r1"
    assert "succeeded with 1 drift warning" in text
    assert "warning: month's items: class distance 0.600 > 0.25" in text
    assert "scheme: batteries" in text and "rows: 10" in text and "link: L" in text


def test_the_batch_success_callbacks_include_the_warning():
    callbacks = on_success_or_warning("summarize")
    assert [type(c).__name__ for c in callbacks] == ["RunNotifier", "AlertNotifier"]


@pytest.fixture
def channels(monkeypatch, slack_sink, settings_dict):  # noqa: F811 - the imported fixture
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    webhook = f"http://127.0.0.1:{slack_sink.server_port}/hook"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_WEBHOOK", json.dumps({"conn_type": "slackwebhook", "password": webhook})
    )
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws"}))
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="mlops-local-notifications")["TopicArn"]
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        monkeypatch.setenv(
            "AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(settings_dict | {"sns_topic_arn": topic})
        )

        def received():
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

        yield received


def test_alerts_are_delivered_as_a_warning_to_sns_and_slack(channels):
    alerts = ["month's items: class distance 0.600 > 0.25 (predicted labels ...)"]
    AlertNotifier(alerts_task_id="summarize").notify({"ti": _TaskInstance(alerts)})
    [envelope] = channels()
    assert envelope["Subject"] == (
        "[GB] batch_inference WARNING drift: manual__2026-11-02T07:15:00+00:00"
    )
    assert "warning: month's items: class distance 0.600" in envelope["Message"]
    assert "drift_batch_class_distance: 0.6000" in envelope["Message"]
    [slack] = _SlackSink.received
    assert "batch_inference__gb succeeded with 1 drift warning" in slack["text"]


def test_no_alert_sends_no_warning(channels):
    AlertNotifier(alerts_task_id="summarize").notify({"ti": _TaskInstance([])})
    assert channels() == []
    assert _SlackSink.received == []
