"""Training jobs through boto3: real execution, SageMaker's lifecycle, artifacts and failures."""

import io
import json
import os
import signal
import tarfile
import time

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import (
    BUCKET,
    assert_valid_output,
    training_request,
    wait_for,
    wait_for_container,
)


def describe(sagemaker, name):
    return sagemaker.describe_training_job(TrainingJobName=name)


def run(sagemaker, request, done=("Completed", "Failed", "Stopped")):
    sagemaker.create_training_job(**request)
    return wait_for(
        lambda: describe(sagemaker, request["TrainingJobName"]), "TrainingJobStatus", done
    )


def test_a_training_job_runs_and_uploads_model_tar_gz(sagemaker, s3, training_data):
    job = run(sagemaker, training_request("train-ok", {"x": "0.4", "tag": "v1"}))
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/models/train-ok/output/model.tar.gz"
    body = s3.get_object(Bucket=BUCKET, Key="models/train-ok/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        model = json.load(archive.extractfile("model.json"))
    assert model["hyperparameters"] == {"x": "0.4", "tag": "v1"}
    assert model["channels"] == {"train": ["part-0.jsonl"]}
    assert model["inputdataconfig"]["train"]["ContentType"] == "application/jsonlines"
    assert model["resourceconfig"]["current_host"] == "algo-1"


def test_final_metrics_come_from_the_logs_with_the_metric_definitions(sagemaker, training_data):
    job = run(sagemaker, training_request("train-metrics", {"x": "0.5"}))
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics == {
        "validation:macro_f1": pytest.approx(0.96),
        "train:loss": pytest.approx(0.04),
    }


def test_a_completed_job_has_timestamps_transitions_and_billable_time(sagemaker, training_data):
    job = run(sagemaker, training_request("train-times"))
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["BillableTimeInSeconds"] >= 1
    statuses = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert job["SecondaryStatus"] == "Completed"
    assert_valid_output("DescribeTrainingJob", job)


def test_the_logs_go_to_sagemakers_log_group_and_stream(stack, sagemaker, training_data):
    run(sagemaker, training_request("train-logs"))
    logs = stack.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="train-logs/algo-1-"
    )["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=streams[0]["logStreamName"]
    )["events"]
    assert any("validation:macro_f1=" in e["message"] for e in events)


def test_a_failing_job_is_failed_with_the_failure_file_as_reason(sagemaker, training_data):
    job = run(sagemaker, training_request("train-fail", {"behaviour": "fail"}))
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: ValueError: label column missing in train.jsonl"
    assert_valid_output("DescribeTrainingJob", job)


def test_a_crash_without_failure_file_reports_the_exit_code(sagemaker, training_data):
    job = run(sagemaker, training_request("train-crash", {"behaviour": "crash"}))
    assert job["FailureReason"] == "AlgorithmError: , exit code: 3"


def test_an_unknown_image_fails_the_job_with_a_clear_reason(sagemaker, training_data):
    request = training_request("train-unknown-image")
    request["AlgorithmSpecification"]["TrainingImage"] = (
        "1.dkr.ecr.eu-west-1.amazonaws.com/x/nope:1"
    )
    job = run(sagemaker, request)
    assert job["TrainingJobStatus"] == "Failed"
    assert "(repository 'nope') has no local counterpart" in job["FailureReason"]


def test_missing_input_data_fails_the_job_naming_the_uri(sagemaker):
    request = training_request("train-no-data")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{BUCKET}/none/"
    job = run(sagemaker, request)
    assert job["TrainingJobStatus"] == "Failed"
    assert f"s3://{BUCKET}/none/" in job["FailureReason"]


def test_stop_sends_sigterm_and_the_job_ends_stopped(sagemaker, training_data):
    name = "train-stop"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "sleep"}))
    wait_for(lambda: describe(sagemaker, name), "SecondaryStatus", ("Training",))
    sagemaker.stop_training_job(TrainingJobName=name)
    job = wait_for(lambda: describe(sagemaker, name), "TrainingJobStatus", timeout=20)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "Stopped"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period(sagemaker, training_data):
    name = "train-stubborn"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "ignore_sigterm"}))
    wait_for(lambda: describe(sagemaker, name), "SecondaryStatus", ("Training",))
    sagemaker.stop_training_job(TrainingJobName=name)
    job = wait_for(lambda: describe(sagemaker, name), "TrainingJobStatus", timeout=20)
    assert job["TrainingJobStatus"] == "Stopped"


def test_max_runtime_exceeded_stops_the_job_as_sagemaker_does(sagemaker, training_data):
    request = training_request(
        "train-timeout",
        {"behaviour": "sleep"},
        StoppingCondition={"MaxRuntimeInSeconds": 2},
    )
    job = run(sagemaker, request)
    assert job["TrainingJobStatus"] == "Stopped"
    assert job["SecondaryStatus"] == "MaxRuntimeExceeded"


def test_spot_training_syncs_checkpoints_to_s3(sagemaker, s3, training_data):
    request = training_request(
        "train-spot",
        EnableManagedSpotTraining=True,
        CheckpointConfig={"S3Uri": f"s3://{BUCKET}/checkpoints/train-spot"},
        StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 900},
    )
    job = run(sagemaker, request)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="checkpoints/train-spot/")["Contents"]
    assert [o["Key"] for o in listed] == ["checkpoints/train-spot/step.txt"]


def test_a_duplicate_job_name_is_resource_in_use(sagemaker, training_data):
    run(sagemaker, training_request("train-dup"))
    with pytest.raises(ClientError) as raised:
        sagemaker.create_training_job(**training_request("train-dup"))
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_describing_an_unknown_job_is_a_validation_exception(sagemaker):
    with pytest.raises(ClientError) as raised:
        describe(sagemaker, "never-created")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == "Requested resource not found."


def test_an_invalid_request_is_rejected_by_the_service_model(unvalidated):
    with pytest.raises(ClientError) as raised:
        unvalidated.create_training_job(TrainingJobName="bad name!", RoleArn=1)
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "CreateTrainingJob" in error["Message"]


def test_list_training_jobs_filters_by_name_and_status(sagemaker, training_data):
    run(sagemaker, training_request("list-me-ok"))
    run(sagemaker, training_request("list-me-bad", {"behaviour": "crash"}))
    listed = sagemaker.list_training_jobs(NameContains="list-me", StatusEquals="Failed")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["list-me-bad"]
    assert_valid_output("ListTrainingJobs", listed)


def test_a_container_killed_mid_run_fails_the_job(stack, sagemaker, training_data):
    name = "train-killed"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "sleep"}))
    os.kill(wait_for_container(stack, name), signal.SIGKILL)
    job = wait_for(lambda: describe(sagemaker, name), "TrainingJobStatus", timeout=20)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: , exit code: -9"
    assert stack.service("sagemaker").backend.container_pid(name) is None


def test_a_quiet_running_jobs_last_lines_reach_cloudwatch_within_seconds(
    stack, sagemaker, training_data
):
    name = "train-quiet"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "sleep"}))
    wait_for_container(stack, name)
    logs = stack.client("logs")
    lines: list[str] = []
    deadline = time.monotonic() + 10
    while not any(line.startswith("channels") for line in lines) and time.monotonic() < deadline:
        time.sleep(0.5)
        streams = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
        )["logStreams"]
        for stream in streams:
            events = logs.get_log_events(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"]
            )["events"]
            lines = [e["message"] for e in events]
    assert describe(sagemaker, name)["TrainingJobStatus"] == "InProgress"
    sagemaker.stop_training_job(TrainingJobName=name)
    assert any(line.startswith("channels") for line in lines), lines
