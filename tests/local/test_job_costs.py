"""What real jobs on the local stack cost: DescribeTrainingJob carries the billable seconds
SageMaker reports, a run's costs count every job its tasks started (a tuning job's training jobs
too), and the batch DAG's own ``summarize`` task puts them in its XCom and its notification."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import serialize
from mlops import costs
from mlops.notifications import METRICS_XCOM_KEY, format_message
from mlops.sagemaker_jobs import JOB_KINDS

from local.provision import load_local_settings
from tests.support.local_stack import (
    BUCKET,
    FIXTURE_IMAGE_URI,
    ROLE,
    assert_valid_output,
    processing_request,
    put_lines,
    training_request,
    tuning_request,
    wait_for,
)

SLEEP_SECONDS = 1.5
PRICES = {"ml.g5.xlarge": 1.2, "ml.m5.large": 0.1}


def _wait(sagemaker, name_field: str, name: str) -> dict:
    """The describe answer of job ``name`` (of the kind named by ``name_field``), completed."""
    kind = next(kind for kind in JOB_KINDS if kind.name_field == name_field)
    describe = getattr(sagemaker, kind.describe_operation)
    done = wait_for(lambda: describe(**{name_field: name}), kind.status_field, timeout=180)
    assert done[kind.status_field] == "Completed", done.get("FailureReason")
    return done


@pytest.fixture(scope="module")
def results(sagemaker, s3, training_data):
    """The XCom results (``serialize``d as the provider operators push them) of a train-like
    and a batch-like run's tasks, from real jobs on the stack."""
    grid = {"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.2", "0.3"]}]}
    sagemaker.create_training_job(
        **training_request("cost-train", {"x": "0.3", "sleep_seconds": str(SLEEP_SECONDS)})
    )
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("cost-tune", "Grid", grid, 2))
    put_lines(s3, "processing/de/2025-01/labeled/a.jsonl", [{"item_id": "1"}])
    outputs = [
        {
            "OutputName": name,
            "S3Output": {
                "S3Uri": f"s3://{BUCKET}/cost-post/{name}/",
                "LocalPath": f"/opt/ml/processing/output/{local}",
                "S3UploadMode": "EndOfJob",
            },
        }
        for name, local in (("summary", "copy"), ("predictions", "predictions"))
    ]
    post = processing_request(
        "cost-post", ["process", "copy"], ProcessingOutputConfig={"Outputs": outputs}
    )
    post["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = 2
    sagemaker.create_processing_job(**post)
    trained = _wait(sagemaker, "TrainingJobName", "cost-train")
    sagemaker.create_model(
        ModelName="cost-model",
        PrimaryContainer={
            "Image": FIXTURE_IMAGE_URI,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE,
    )
    unlabeled = put_lines(s3, "cost-in/part-0.jsonl", [{"item_id": str(i)} for i in range(5)])
    sagemaker.create_transform_job(
        TransformJobName="cost-transform",
        ModelName="cost-model",
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": unlabeled.rsplit("/", 1)[0]}
            },
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/cost-out", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    return {
        "train_model": {"Training": serialize(trained)},
        "tune": {"Tuning": serialize(_wait(sagemaker, "HyperParameterTuningJobName", "cost-tune"))},
        "postprocess": {
            "Processing": serialize(_wait(sagemaker, "ProcessingJobName", "cost-post"))
        },
        "batch_transform": {
            "Model": serialize(sagemaker.describe_model(ModelName="cost-model")),
            "Transform": serialize(_wait(sagemaker, "TransformJobName", "cost-transform")),
        },
    }


@pytest.fixture
def prices(stack, tmp_path) -> costs.PriceTable:
    path = tmp_path / "prices.yaml"
    path.write_text(
        json.dumps(
            {
                "source": "test prices",
                "as_of": "2026-11-30",
                "currency": "USD",
                "regions": {stack.region: PRICES},
            }
        )
    )
    return costs.load_price_table(path)


def test_a_training_job_is_billed_for_the_run_time_of_its_job_process(sagemaker, results):
    job = sagemaker.describe_training_job(TrainingJobName="cost-train")
    assert_valid_output("DescribeTrainingJob", job)
    elapsed = (job["TrainingEndTime"] - job["TrainingStartTime"]).total_seconds()
    # The job's process slept SLEEP_SECONDS; SageMaker counts whole seconds from start to end
    # (the timestamps come back to the millisecond).
    assert elapsed >= SLEEP_SECONDS
    assert elapsed - 0.002 <= job["TrainingTimeInSeconds"] < elapsed + 1.002
    assert job["BillableTimeInSeconds"] >= math.ceil(SLEEP_SECONDS)
    # No spot market here: nothing is saved, billable time is the training time.
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]


def test_a_runs_costs_count_every_job_its_tasks_started(sagemaker, stack, results, prices):
    summary = costs.run_costs(sagemaker, stack.region, results, prices=prices)
    lines = {line["job"]: line for line in summary["jobs"]}
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="cost-tune"
    )["TrainingJobSummaries"]
    assert len(trials) == 2
    assert set(lines) == {
        "cost-train",
        "cost-post",
        "cost-transform",
        *(trial["TrainingJobName"] for trial in trials),
    }
    for trial in trials:
        name = trial["TrainingJobName"]
        billed = sagemaker.describe_training_job(TrainingJobName=name)["BillableTimeInSeconds"]
        assert (lines[name]["task_id"], lines[name]["tuning_job"]) == ("tune", "cost-tune")
        assert lines[name]["billable_seconds"] == billed
    post = sagemaker.describe_processing_job(ProcessingJobName="cost-post")
    elapsed = (post["ProcessingEndTime"] - post["ProcessingStartTime"]).total_seconds()
    assert lines["cost-post"]["instance_count"] == 2
    assert lines["cost-post"]["billable_seconds"] == 2 * math.ceil(elapsed)
    expected = sum(
        line["billable_seconds"] * PRICES[line["instance_type"]] / 3600 for line in lines.values()
    )
    assert summary["estimated_cost_usd"] == pytest.approx(expected, abs=1e-5)
    assert summary["billable_seconds"] == sum(line["billable_seconds"] for line in lines.values())


def test_a_job_that_cannot_be_described_is_reported_unknown(sagemaker, stack, prices):
    results = {"postprocess": {"Processing": {"ProcessingJobName": "cost-never-ran"}}}
    summary = costs.run_costs(sagemaker, stack.region, results, prices=prices)
    assert summary["estimated_cost_usd"] is None
    (reason,) = summary["cost_unknown"]
    assert reason.startswith("cost-never-ran: could not describe the processing job: ")


# ---------------------------------------------------------------- the batch DAG's summarize task
class _TaskInstance:
    """What summarize reads from and writes to its task instance: upstream XCom, pushed keys."""

    def __init__(self, results: dict):
        self.results = results
        self.pushed: dict = {}

    def xcom_pull(self, task_ids):
        return self.results.get(task_ids)

    def xcom_push(self, key, value):
        self.pushed[key] = value


@pytest.fixture(scope="module")
def batch_dag(stack, tmp_path_factory):
    settings = load_local_settings() | {"region": stack.region}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        patch.setenv("AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(settings))
        patch.setenv(
            "AIRFLOW_CONN_AWS_DEFAULT",
            json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {"endpoint_url": stack.endpoint_url, "region_name": stack.region},
                }
            ),
        )
        patch.delenv(costs.PRICES_FILE_ENV, raising=False)  # the repository's price table
        for name, value in stack.environ().items():
            patch.setenv(name, value)
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(str(Path(__file__).resolve().parents[2] / "dags"))
        assert not bag.import_errors, bag.import_errors
        yield bag.dags["batch_inference__gb"]


def test_the_batch_runs_final_task_reports_its_costs_in_xcom_and_notification(
    stack, sagemaker, results, batch_dag
):
    summarize = batch_dag.get_task("summarize")
    ti = _TaskInstance(results)
    value = summarize.python_callable(
        run={"run_id": "manual__costs", "data_month": "2026-10", "code_version": "t"},
        model_name="cost-model",
        postprocessed=results["postprocess"],
        profile_uri="",
        params={},
        ti=ti,
    )
    table = costs.load_price_table()
    reported = value["costs"]
    assert [line["job"] for line in reported["jobs"]] == ["cost-transform", "cost-post"]
    expected = sum(
        line["billable_seconds"] * table.regions[stack.region][line["instance_type"]] / 3600
        for line in reported["jobs"]
    )
    assert reported["estimated_cost_usd"] == pytest.approx(expected, abs=1e-5)
    assert reported["price_source"] == table.label
    metrics = ti.pushed[METRICS_XCOM_KEY]
    _, text = format_message(
        succeeded=True, dag_id=batch_dag.dag_id, run_id="r", link="L", metrics=metrics
    )
    assert f"billable_seconds: {reported['billable_seconds']}" in text.splitlines()
    assert f"estimated_cost_usd: {costs.cost_metrics(reported)['estimated_cost_usd']}" in text
    assert f"price_source: {table.label}" in text.splitlines()
