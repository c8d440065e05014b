"""A retried task must not start a second SageMaker job while the first try's job still runs:
no operator stops it, so both would be billed. The DAGs' pre_execute hook refuses clearly."""

import pytest
from mlops.retry_guard import DuplicateJobRefused, refuse_duplicate_job

from tests.support.local_stack import training_request, wait_for


def test_retry_is_refused_while_the_earlier_try_s_training_job_runs(sagemaker, training_data):
    name = "retry-guard-train"
    sagemaker.create_training_job(
        **training_request(name, {"behaviour": "sleep", "sleep_seconds": "5"})
    )
    with pytest.raises(DuplicateJobRefused, match=f"{name} from an earlier try"):
        # The provider would create "<name>-<timestamp>" on retry: the base name finds the job.
        refuse_duplicate_job(sagemaker, {"TrainingJobName": name})
    running = sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert [job["TrainingJobName"] for job in running] == [name]


def test_retry_goes_ahead_once_the_earlier_job_has_ended(sagemaker, training_data):
    name = "retry-guard-done"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "succeed"}))
    finished = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus"
    )
    assert finished["TrainingJobStatus"] == "Completed"
    refuse_duplicate_job(sagemaker, {"TrainingJobName": name})  # no exception: nothing runs
