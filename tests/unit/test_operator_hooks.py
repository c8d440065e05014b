"""The operators' pre_execute pieces that need no Airflow: wait sizing and the retry guard."""

import math

import boto3
import pytest
from mlops.operator_hooks import WAIT_SLACK_ATTEMPTS, size_waits
from mlops.retry_guard import DuplicateJobRefused, refuse_duplicate_job
from mlops.sagemaker_jobs import JOB_KINDS, job_in_request
from moto import mock_aws


class _Operator:
    check_interval = 30
    max_attempts = 60


def test_waits_cover_the_max_runtime_with_slack():
    operator = _Operator()
    size_waits(operator, poll_interval_seconds=60, max_runtime_seconds=7200)
    assert operator.check_interval == 60
    assert operator.max_attempts == math.ceil(7200 / 60) + WAIT_SLACK_ATTEMPTS


def test_the_job_table_knows_each_kind_of_job_the_dags_start():
    assert {kind.name_field for kind in JOB_KINDS} == {
        "ProcessingJobName",
        "TrainingJobName",
        "TransformJobName",
        "HyperParameterTuningJobName",
    }
    kind, name = job_in_request({"TrainingJobName": "mlops-de-train-1"})
    assert (kind.describe_operation, name) == ("describe_training_job", "mlops-de-train-1")
    assert job_in_request({"ModelName": "m"}) is None
    assert job_in_request(None) is None


@pytest.fixture
def sagemaker(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("sagemaker", region_name="eu-west-1")


class _Listing:
    """A SageMaker client whose list call answers one running job (moto's never run)."""

    def __init__(self, running: str):
        self.running = running
        self.asked: list[dict] = []

    def list_hyper_parameter_tuning_jobs(self, **query):
        self.asked.append(query)
        summaries = [{"HyperParameterTuningJobName": self.running}]
        return {
            "HyperParameterTuningJobSummaries": summaries
            if query["StatusEquals"] == "InProgress"
            else []
        }


def test_a_retry_is_refused_while_the_first_tries_job_runs():
    client = _Listing("mlops-de-hpo-0b74bdb0")
    with pytest.raises(DuplicateJobRefused, match="mlops-de-hpo-0b74bdb0 from an earlier try"):
        refuse_duplicate_job(client, {"HyperParameterTuningJobName": "mlops-de-hpo-0b74bdb0-r2"})
    # searched by the first try's name, in both running states
    assert [q["NameContains"] for q in client.asked] == ["mlops-de-hpo-0b74bdb0"] * 2
    assert {q["StatusEquals"] for q in client.asked} == {"InProgress", "Stopping"}


def test_a_retry_goes_ahead_when_nothing_runs(sagemaker):
    refuse_duplicate_job(sagemaker, {"TrainingJobName": "mlops-de-train-0b74bdb0"})
    refuse_duplicate_job(sagemaker, {"ModelName": "not-a-job"})
