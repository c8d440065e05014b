"""A failure notification says why the SageMaker job failed: in deferrable mode the provider's
exception names the job but not SageMaker's FailureReason."""

from mlops.notifications import failed_job_line

from tests.support.local_stack import training_request, wait_for


def test_failure_line_carries_the_jobs_failure_reason(sagemaker, training_data):
    name = "notify-failed-train"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "fail"}))
    wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    line = failed_job_line(sagemaker, {"TrainingJobName": name})
    assert line.startswith(f"job {name}: Failed — ")
    assert "label column missing" in line


def test_no_line_when_the_job_was_never_created(sagemaker):
    assert failed_job_line(sagemaker, {"TrainingJobName": "never-created-job"}) is None
