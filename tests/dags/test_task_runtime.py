"""What the DAGs do at run time around the operators: wait sizing, retry-safe names, and the
setup tasks that unpack their Airflow context into one library call."""

import json
import math
from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
)
from botocore.validate import ParamValidator
from mlops.operator_hooks import WAIT_SLACK_ATTEMPTS, prepare_sagemaker_task, prepare_sensor
from mlops.run_context import previous_month
from mlops.winners import table_key_schema
from moto import mock_aws

from tests.dags.conftest import REPO

SETTINGS = json.loads((REPO / "include" / "config" / "settings.local.json").read_text())


@pytest.fixture(autouse=True)
def local_settings(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(SETTINGS))


class _Try:
    def __init__(self, number: int):
        self.try_number = number


def test_waits_take_the_poll_interval_from_settings_and_cover_the_max_runtime():
    train_model = SageMakerTrainingOperator(task_id="train_model", config={"TrainingJobName": "j"})
    prepare_sagemaker_task(3600)({"task": train_model, "ti": _Try(1)})
    interval = SETTINGS["poll_interval_seconds"]
    assert train_model.check_interval == interval
    assert train_model.max_attempts == math.ceil(3600 / interval) + WAIT_SLACK_ATTEMPTS
    assert train_model.max_attempts * train_model.check_interval >= 3600


def test_a_tuning_wait_covers_the_runs_own_hpo_budget_over_the_configured_one():
    # An hpo_max_jobs param raised the tuning job's limit above what the DAG was parsed with.
    limits = {"MaxRuntimeInSeconds": 9 * 3600, "MaxNumberOfTrainingJobs": 9}
    config = {"HyperParameterTuningJobConfig": {"ResourceLimits": limits}}
    tune = SageMakerTuningOperator(task_id="tune", config=config)
    prepare_sagemaker_task(2 * 3600)({"task": tune, "ti": _Try(1)})
    assert tune.max_ingestion_time >= 9 * 3600


def test_retry_of_an_operator_without_a_name_check_gets_a_new_name(monkeypatch):
    # A retry first asks SageMaker whether an earlier try's job still runs (none here: moto).
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        _rename_on_retry()


def _rename_on_retry():
    config = {"HyperParameterTuningJobName": "mlops-de-hpo-0b74bdb0"}
    tune = SageMakerTuningOperator(task_id="tune", config=config)
    hook = prepare_sagemaker_task(600, rename_field="HyperParameterTuningJobName")
    hook({"task": tune, "ti": _Try(1)})
    assert tune.config["HyperParameterTuningJobName"] == "mlops-de-hpo-0b74bdb0"
    hook({"task": tune, "ti": _Try(3)})
    assert tune.config["HyperParameterTuningJobName"] == "mlops-de-hpo-0b74bdb0-r3"


def test_the_input_sensor_polls_at_the_settings_interval(dagbag):
    sensor = dagbag.dags["batch_inference__gb"].get_task("wait_for_input")
    prepare_sensor(3600)({"task": sensor, "ti": _Try(1)})
    assert sensor.poke_interval == SETTINGS["poll_interval_seconds"]


def test_default_month_is_the_previous_calendar_month():
    assert previous_month(datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"
    assert previous_month(datetime(2026, 3, 1, tzinfo=UTC)) == "2026-02"


def test_train_setup_builds_a_valid_prepare_request_for_the_param_month(dagbag, monkeypatch):
    task = dagbag.dags["train__de"].get_task("build_requests")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": SETTINGS["region"],
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    profile = "s3://models/de/runs/abc/prepare/profile/profile.json"
    with mock_aws():  # the drift reference: the winner's training profile, read from DynamoDB
        table = boto3.resource("dynamodb").create_table(
            TableName=SETTINGS["winners_table"],
            **table_key_schema(),
            BillingMode="PAY_PER_REQUEST",
        )
        table.put_item(Item={"pk": "de", "sk": "CURRENT", "profile_uri": profile})
        result = task.python_callable(
            params={"data_month": "2026-09"},
            run_id="manual__2026-11-22T04:00:00+00:00",
            data_interval_end=None,
        )
    assert result["run"]["data_month"] == "2026-09"
    prepare = result["prepare_request"]
    model = botocore.session.get_session().get_service_model("sagemaker")
    report = ParamValidator().validate(
        prepare, model.operation_model("CreateProcessingJob").input_shape
    )
    assert not report.has_errors(), report.generate_report()
    assert prepare["Environment"]["DATA_MONTH"] == "2026-09"
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in prepare["ProcessingInputs"]}
    assert inputs["reference_profile"] == profile


def test_batch_plan_defaults_to_the_month_before_the_data_interval_end(dagbag, monkeypatch):
    task = dagbag.dags["batch_inference__gb"].get_task("plan_month")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": SETTINGS["region"],
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # A cron run first checks the month's marker has landed and the month is not scored yet.
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=SETTINGS["data_bucket"],
            CreateBucketConfiguration={"LocationConstraint": SETTINGS["region"]},
        )
        s3.put_object(Bucket=SETTINGS["data_bucket"], Key="gb/2026-10/unlabeled/_SUCCESS", Body=b"")
        plan = task.python_callable(
            params={"data_month": ""},
            run_id="scheduled__2026-11-02T06:00:00+00:00",
            data_interval_end=datetime(2026, 11, 2, 6, tzinfo=UTC),
        )
    assert plan["data_month"] == "2026-10"
    assert plan["input_pattern"] == f"s3://{SETTINGS['data_bucket']}/gb/2026-10/unlabeled/*"


def test_a_scheme_models_batch_plan_waits_under_its_own_prefix(dagbag):
    task = dagbag.dags["batch_inference__de__batteries"].get_task("plan_month")
    plan = task.python_callable(
        params={"data_month": "2026-10"}, run_id="manual__x", data_interval_end=None
    )
    assert (
        plan["input_pattern"] == f"s3://{SETTINGS['data_bucket']}/de/batteries/2026-10/unlabeled/*"
    )
