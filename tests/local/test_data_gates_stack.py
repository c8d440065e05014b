"""The data gates through the local stack: the train plan's prepare request (the real
``prepare`` image code as a processing job), the winner's profile as the drift reference,
a refused month's reasons in the job's FailureReason and in the failure notification's text,
and nothing uploaded for it."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from mlops import steps
from mlops.config import get_model
from mlops.notifications import failed_job_line, format_message
from mlops.settings import parse_settings

from local.demodata import generate_month, scenarios
from local.provision import load_local_settings, provision
from tests.support.local_stack import read_text, wait_for

MODEL_KEY = "nl"  # a model of its own: the session stack is shared with other modules


@pytest.fixture(scope="module")
def project(stack, tmp_path_factory):
    ours = "mlops-gates"
    settings_dict = provision(
        stack.client,
        load_local_settings()
        | {
            "name_prefix": "mlopsgates",
            "environment": "gates",
            "data_bucket": f"{ours}-data",
            "model_bucket": f"{ours}-models",
            "winners_table": f"{ours}-winners",
            "sns_topic_arn": f"arn:aws:sns:eu-west-1:123456789012:{ours}-notifications",
            "sagemaker_execution_role_arn": f"arn:aws:iam::123456789012:role/{ours}-sagemaker",
        },
    )
    countries = tmp_path_factory.mktemp("gates") / "countries.yaml"
    countries.write_text(
        f"countries:\n  - {{code: {MODEL_KEY}, code_table_version: v1, data_prefix: nl}}\n"
    )
    return {
        "settings": parse_settings(settings_dict),
        "model": get_model(MODEL_KEY, countries),
        "sagemaker": stack.client("sagemaker"),
        "s3": stack.client("s3"),
        "dynamodb": boto3.resource(
            "dynamodb",
            endpoint_url=stack.endpoint_url,
            region_name=stack.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ),
        "data": tmp_path_factory.mktemp("gates-data"),
    }


def land(project, month: str, transform=None) -> None:
    """A demo month (DE's catalog) under the model's prefix, ``transform``ed if given."""
    root: Path = project["data"]
    generate_month(root, "de", month, 300, prefix="nl", unlabeled_items=0)
    labeled = root / "nl" / month / "labeled"
    if transform:
        scenarios.rewrite_labeled(labeled, transform)
    s3, bucket = project["s3"], project["settings"].data_bucket
    for path in [*labeled.glob("*.jsonl"), root / "nl" / "code_tables" / "v1.json"]:
        s3.upload_file(str(path), bucket, path.relative_to(root).as_posix())


def prepare(project, month: str) -> tuple[dict, dict]:
    """(the plan, the finished prepare job) of a train run for ``month``."""
    plan = steps.plan_training(
        project["settings"],
        project["model"],
        run_id=f"manual__{month}",
        data_month=month,
        dynamodb=project["dynamodb"],
    )
    sagemaker = project["sagemaker"]
    sagemaker.create_processing_job(**plan["prepare_request"])
    name = plan["prepare_request"]["ProcessingJobName"]
    job = wait_for(
        lambda: sagemaker.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        timeout=180,
    )
    return plan, job


@pytest.fixture(scope="module")
def accepted(project):
    """Month 1 prepared, registered and made the winner, as an accepted month is."""
    land(project, "2026-09")
    plan, job = prepare(project, "2026-09")
    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    training = {
        "TrainingJobName": "gates-train",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://mlops-gates-models/m/model.tar.gz"},
        "FinalMetricDataList": [],
    }
    challenger = steps.register_challenger(
        project["sagemaker"],
        project["settings"],
        project["model"],
        plan["run"],
        {"Processing": job},
        {"Training": training},
        {"Model": {"ModelName": "gates-model"}},
        s3=project["s3"],
    )
    table = project["dynamodb"].Table(project["settings"].winners_table)
    table.put_item(
        Item={
            "pk": MODEL_KEY,
            "sk": "CURRENT",
            "model_name": "gates-model",
            "model_package_arn": challenger.value["model_package_arn"],
            "data_month": "2026-09",
            "profile_uri": challenger.value["profile_uri"],
        }
    )
    return challenger


def test_an_accepted_months_profile_records_its_gates(project, accepted):
    profile = json.loads(read_text(project["s3"], accepted.value["profile_uri"]))
    assert all(gate["passed"] for gate in profile["gates"])
    assert profile["drift"] is None  # the first month: no reference
    assert accepted.metrics["data_gates"] == profile["gates_summary"]


def test_a_month_that_drifted_from_the_winners_is_refused_with_its_reasons(project, accepted):
    def broken(records: list[dict]) -> list[dict]:  # fails four gates: a long FailureReason
        return scenarios.duplicated(scenarios.blank_titles(scenarios.drop_classes(records)))

    land(project, "2026-10", broken)
    plan, job = prepare(project, "2026-10")
    request = plan["prepare_request"]
    assert plan["reference"]["profile_uri"] == accepted.value["profile_uri"]
    assert job["ProcessingJobStatus"] == "Failed"
    assert "data gates failed for country nl 2026-10" in job["FailureReason"]
    assert (
        "max_vanished_classes: 2 classes of the reference month 2026-09" in (job["FailureReason"])
    )
    assert len(job["FailureReason"]) > 600
    # What the run's failure notification shows (RunNotifier: the failed task's job line), whole.
    line = failed_job_line(project["sagemaker"], request)
    assert line is not None and job["FailureReason"] in line
    _, text = format_message(
        succeeded=False,
        dag_id=project["model"].dag_id("train"),
        run_id="manual__2026-10",
        link="http://airflow/x",
        task_id="prepare_data",
        job=line,
    )
    assert "max_vanished_classes: 2 classes of the reference month 2026-09" in text
    # Nothing downstream: no split and no profile was uploaded for the refused month.
    prefix = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    base = key.rsplit("/prepare/", 1)[0] + "/prepare/"
    listed = project["s3"].list_objects_v2(Bucket=bucket, Prefix=base)
    assert listed.get("KeyCount", 0) == 0
