"""Hyperparameter tuning through boto3: real training jobs, strategies, counters, best job."""

import re

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import assert_valid_output, tuning_request, wait_for


def run(sagemaker, request):
    sagemaker.create_hyper_parameter_tuning_job(**request)
    name = request["HyperParameterTuningJobName"]
    return wait_for(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        timeout=180,
    )


GRID = {"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.1", "0.3", "0.9"]}]}


def test_grid_search_runs_every_combination_and_picks_the_best(sagemaker, training_data):
    job = run(sagemaker, tuning_request("tune-grid", "Grid", GRID, max_jobs=3))
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"]["Completed"] == 3
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    best = job["BestTrainingJob"]
    assert best["TunedHyperParameters"] == {"x": "0.3"}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(1.0)
    assert_valid_output("DescribeHyperParameterTuningJob", job)


def test_training_jobs_are_named_as_sagemaker_names_them(sagemaker, training_data):
    run(sagemaker, tuning_request("tune-names", "Grid", GRID, max_jobs=2))
    listed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-names"
    )
    names = sorted(s["TrainingJobName"] for s in listed["TrainingJobSummaries"])
    assert len(names) == 2
    assert all(re.fullmatch(r"tune-names-00[12]-[0-9a-f]{8}", n) for n in names)
    child = sagemaker.describe_training_job(TrainingJobName=names[0])
    assert child["TuningJobArn"].endswith(":hyper-parameter-tuning-job/tune-names")
    assert child["HyperParameters"]["tag"] == "tuned"  # static hyperparameters are kept
    assert_valid_output("ListTrainingJobsForHyperParameterTuningJob", listed)


def test_random_search_samples_within_the_ranges(sagemaker, training_data):
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "x", "MinValue": "0.01", "MaxValue": "0.6", "ScalingType": "Logarithmic"}
        ],
        "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "5"}],
    }
    job = run(sagemaker, tuning_request("tune-random", "Random", ranges, max_jobs=3))
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    listed = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-random",
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Descending",
    )["TrainingJobSummaries"]
    assert len(listed) == 3
    for summary in listed:
        assert 0.01 <= float(summary["TunedHyperParameters"]["x"]) <= 0.6
        assert 1 <= int(summary["TunedHyperParameters"]["epochs"]) <= 5
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in listed]
    assert values == sorted(values, reverse=True)
    assert job["BestTrainingJob"]["TrainingJobName"] == listed[0]["TrainingJobName"]


def test_bayesian_is_run_as_random_and_the_tuning_log_says_so(stack, sagemaker, training_data):
    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}
    job = run(sagemaker, tuning_request("tune-bayes", "Bayesian", ranges, max_jobs=1, parallel=1))
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    events = stack.client("logs").get_log_events(
        logGroupName="/aws/sagemaker/HyperParameterTuningJobs", logStreamName="tune-bayes/tuner"
    )["events"]
    assert any("Bayesian is run as Random" in e["message"] for e in events)


def test_a_tuning_job_whose_training_jobs_all_fail_is_failed(sagemaker, training_data):
    request = tuning_request("tune-fails", "Grid", GRID, max_jobs=2)
    request["TrainingJobDefinition"]["StaticHyperParameters"] = {"behaviour": "crash"}
    job = run(sagemaker, request)
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert job["ObjectiveStatusCounters"]["Failed"] == 2
    assert "All training jobs failed" in job["FailureReason"]


def test_stopping_a_tuning_job_stops_its_training_jobs(sagemaker, training_data):
    request = tuning_request("tune-stop", "Grid", GRID, max_jobs=3, parallel=1)
    request["TrainingJobDefinition"]["StaticHyperParameters"] = {"behaviour": "sleep"}
    sagemaker.create_hyper_parameter_tuning_job(**request)
    wait_for(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-stop"
        )["TrainingJobStatusCounters"],
        "InProgress",
        (1,),
    )
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    job = wait_for(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-stop"
        ),
        "HyperParameterTuningJobStatus",
        timeout=30,
    )
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert job["TrainingJobStatusCounters"]["Stopped"] == 1
    assert job["TrainingJobStatusCounters"]["InProgress"] == 0


def test_an_objective_that_no_metric_definition_produces_is_rejected(sagemaker):
    request = tuning_request("tune-badobj", "Grid", GRID, max_jobs=1)
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = (
        "validation:auc"
    )
    with pytest.raises(ClientError) as raised:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "validation:auc" in raised.value.response["Error"]["Message"]


def test_grid_search_over_continuous_ranges_is_rejected(sagemaker):
    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}
    with pytest.raises(ClientError) as raised:
        sagemaker.create_hyper_parameter_tuning_job(
            **tuning_request("tune-badgrid", "Grid", ranges, max_jobs=1)
        )
    assert "categorical" in raised.value.response["Error"]["Message"]


def test_describing_an_unknown_tuning_job_is_resource_not_found(sagemaker):
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        ("small", "1", "must be numbers"),
        ("nan", "nan", "finite number <= MaxValue"),
        ("0.9", "0.1", "finite number <= MaxValue"),
    ],
)
def test_a_range_that_is_not_a_finite_interval_is_rejected_naming_it(
    sagemaker, low, high, expected
):
    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": low, "MaxValue": high}]}
    with pytest.raises(ClientError) as raised:
        sagemaker.create_hyper_parameter_tuning_job(
            **tuning_request("tune-badrange", "Random", ranges, max_jobs=1)
        )
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "ValidationException"
    assert "ContinuousParameterRanges 'x'" in error["Message"]
    assert expected in error["Message"]


def test_more_training_jobs_than_sagemakers_quota_is_resource_limit_exceeded(sagemaker):
    ranges = {"IntegerParameterRanges": [{"Name": "epochs", "MinValue": "1", "MaxValue": "5"}]}
    with pytest.raises(ClientError) as raised:
        sagemaker.create_hyper_parameter_tuning_job(
            **tuning_request("tune-toomany", "Random", ranges, max_jobs=2**31 - 1)
        )
    assert raised.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    values = [str(v) for v in range(30)]
    grid = {"CategoricalParameterRanges": [{"Name": n, "Values": values} for n in ("a", "b", "c")]}
    request = tuning_request("tune-biggrid", "Grid", grid, max_jobs=1)
    del request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"]
    with pytest.raises(ClientError) as raised:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert raised.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert "27000 combinations" in raised.value.response["Error"]["Message"]
