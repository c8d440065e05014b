"""Processing jobs through boto3: inputs downloaded, the command run, outputs uploaded."""

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import (
    BUCKET,
    assert_valid_output,
    processing_request,
    put_lines,
    wait_for,
    wait_for_container,
)


@pytest.fixture(scope="module")
def labeled(s3):
    put_lines(s3, "processing/de/2025-01/labeled/a.jsonl", [{"item_id": "1"}, {"item_id": "2"}])
    put_lines(s3, "processing/de/2025-01/labeled/sub/b.jsonl", [{"item_id": "3"}])


def run(sagemaker, request):
    sagemaker.create_processing_job(**request)
    name = request["ProcessingJobName"]
    return wait_for(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name), "ProcessingJobStatus"
    )


def test_a_processing_job_downloads_inputs_runs_the_command_and_uploads_outputs(
    sagemaker, s3, labeled
):
    job = run(sagemaker, processing_request("proc-ok", ["process", "copy"]))
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    key = "processing-out/proc-ok/copy/summary.json"
    answer = s3.get_object(Bucket=BUCKET, Key=key)
    summary = json.loads(answer["Body"].read())
    assert summary["counts"] == {"labeled/a.jsonl": 2, "labeled/sub/b.jsonl": 1}
    assert summary["argv"] == ["copy"]
    assert summary["job"] == "proc-ok"  # read from /opt/ml/config/processingjobconfig.json
    assert summary["environment"] == {"COUNTRY": "de"}
    assert answer["ServerSideEncryption"] == "aws:kms"
    assert job["ProcessingStartTime"] <= job["ProcessingEndTime"]
    assert_valid_output("DescribeProcessingJob", job)


def test_a_failing_processing_job_reports_its_output_message(sagemaker, labeled):
    job = run(sagemaker, processing_request("proc-fail", ["process", "fail"]))
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: the input has no labeled records"
    assert job["ExitMessage"] == "the input has no labeled records"


def test_an_unknown_command_of_a_known_image_fails_clearly(sagemaker, labeled):
    job = run(sagemaker, processing_request("proc-bad-command", ["evaluate"]))
    assert job["ProcessingJobStatus"] == "Failed"
    assert "has no command 'evaluate'" in job["FailureReason"]


def test_max_runtime_exceeded_stops_the_processing_job_as_sagemaker_does(sagemaker, labeled):
    request = processing_request(
        "proc-timeout",
        ["process", "sleep"],
        StoppingCondition={"MaxRuntimeInSeconds": 2},
    )
    job = run(sagemaker, request)
    assert job["ProcessingJobStatus"] == "Stopped"
    assert "FailureReason" not in job
    assert (job["ProcessingEndTime"] - job["ProcessingStartTime"]).total_seconds() < 30


def test_stopping_a_processing_job_ends_it_stopped(stack, sagemaker, labeled):
    sagemaker.create_processing_job(**processing_request("proc-stop", ["process", "sleep"]))
    wait_for_container(stack, "proc-stop")
    sagemaker.stop_processing_job(ProcessingJobName="proc-stop")
    job = wait_for(
        lambda: sagemaker.describe_processing_job(ProcessingJobName="proc-stop"),
        "ProcessingJobStatus",
    )
    assert job["ProcessingJobStatus"] == "Stopped"


def test_list_processing_jobs_finds_jobs_by_name(sagemaker, labeled):
    run(sagemaker, processing_request("proc-listed", ["process", "copy"]))
    listed = sagemaker.list_processing_jobs(NameContains="proc-listed")
    assert [s["ProcessingJobName"] for s in listed["ProcessingJobSummaries"]] == ["proc-listed"]
    assert_valid_output("ListProcessingJobs", listed)


def test_stopping_a_finished_job_is_a_validation_exception(sagemaker, labeled):
    run(sagemaker, processing_request("proc-done", ["process", "copy"]))
    with pytest.raises(ClientError) as raised:
        sagemaker.stop_processing_job(ProcessingJobName="proc-done")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
