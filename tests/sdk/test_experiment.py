"""scripts/experiment.py on the SageMaker Python SDK v3, against the local stack: a model's
training image launched as an experiment with overrides, its registry versions listed with their
metrics, one approved and one rejected with a reason. GB's model (linear, CPU) keeps it quick."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sagemaker.train", reason="tests/sdk run from .venv-sdk (make test does)")
from mlops.config import get_model
from mlops.naming import RunIdentity, model_package_group_name
from mlops.sagemaker_requests import model_package_request, s3_uri, training_request
from mlops.settings import parse_settings

from local.demodata import iter_products

# pytest's pythonpath (pyproject.toml) puts plugins/ and the repository root on sys.path.
ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location("experiment", ROOT / "scripts" / "experiment.py")
experiment = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(experiment)

MODEL, MONTH = "gb", "2026-01"
JOB_SECONDS = 300


def _lines(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _wait(sagemaker, name: str) -> dict:
    waiter = sagemaker.get_waiter("training_job_completed_or_stopped")
    try:
        waiter.wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": JOB_SECONDS})
    except Exception:  # a Failed job ends the waiter too: the description says why
        pass
    return sagemaker.describe_training_job(TrainingJobName=name)


@pytest.fixture(scope="module")
def settings(settings_file):
    return parse_settings(settings_file.read_text(), source=str(settings_file))


@pytest.fixture(scope="module")
def registered(aws, settings):
    """What the train DAG leaves behind for GB: a prepared month, a training job trained on it
    (the DAG's own request) and two registry versions naming it, as register_model does."""
    model = get_model(MODEL)
    s3, sagemaker = aws.client("s3"), aws.client("sagemaker")
    records = list(iter_products(MODEL, MONTH, 240, seed=3))
    prepared = s3_uri(settings.model_bucket, model.prefix, "runs", "seed", "prepare")
    channels = {"train": records[:180], "validation": records[180:]}
    for channel, rows in channels.items():
        key = f"{model.prefix}/runs/seed/prepare/{channel}/part-0.jsonl"
        s3.put_object(Bucket=settings.model_bucket, Key=key, Body=_lines(rows))
    run = RunIdentity(run_id="manual__seed", data_month=MONTH)
    request = training_request(
        settings, model, run, prepared + "train/", prepared + "validation/", tuned={}
    )
    sagemaker.create_training_job(**request)
    job = _wait(sagemaker, request["TrainingJobName"])
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    group = model_package_group_name(settings.name_prefix, model.key)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arns = []
    for month_run, f1 in (("manual__a", 0.71), ("manual__b", 0.74)):
        package = model_package_request(
            settings,
            model,
            RunIdentity(run_id=month_run, data_month=MONTH),
            model_data_url=job["ModelArtifacts"]["S3ModelArtifacts"],
            model_name=f"mlops-gb-model-{month_run[-1]}",
            training_job_name=job["TrainingJobName"],
            test_features_uri=prepared + "test_features/",
            test_labels_uri=prepared + "test_labels/",
            metrics={"validation:macro_f1": f1},
        )
        arns.append(sagemaker.create_model_package(**package)["ModelPackageArn"])
    return {"job": job, "group": group, "arns": arns, "prepared": prepared}


def run_tool(settings_file, capsys, *argv: str) -> tuple[int, str, str]:
    code = experiment.main(["--settings", str(settings_file), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_launch_trains_the_models_image_with_the_overrides_on_its_newest_versions_data(
    aws, settings, settings_file, registered, capsys, caplog
):
    code, out, err = run_tool(
        settings_file,
        capsys,
        "launch",
        MODEL,
        "--set",
        "alpha=0.0003",
        "--set",
        "max_iter=20",
        "--name",
        "alpha-sweep",
        "--logs",
        "--poll",
        "1",
        "--timeout",
        str(JOB_SECONDS),
    )
    assert code == 0, out + err
    job_name = out.split()[2].rstrip(":")
    job = aws.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    source = registered["job"]
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["AlgorithmSpecification"]["TrainingImage"] == settings.training_image_uri
    # The DAG's hyperparameters, the overrides on top, the data of the version's training job.
    assert job["HyperParameters"] == {
        **source["HyperParameters"],
        "alpha": "0.0003",
        "max_iter": "20",
    }
    assert [c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]] == [
        c["DataSource"]["S3DataSource"]["S3Uri"] for c in source["InputDataConfig"]
    ]
    # The production job's guard rails: KMS on outputs and volume, isolation, the same limits.
    assert job["OutputDataConfig"]["KmsKeyId"] == settings.kms_key_arn
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == settings.kms_key_arn
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert job["EnableNetworkIsolation"] is True
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 3600
    metrics = {m["MetricName"] for m in job["FinalMetricDataList"]}
    assert "validation:macro_f1" in metrics
    assert "validation:macro_f1 = " in out
    # --logs: the SDK streamed the job's CloudWatch log, where the image prints its metrics.
    assert "validation:macro_f1=" in caplog.text
    tags = {
        t["Key"]: t["Value"]
        for t in aws.client("sagemaker").list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    }
    assert tags["experiment"] == "alpha-sweep"
    assert tags["managed_by"] == "mlops-experiment"
    assert tags["country"] == "gb"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--set", "alpha"], "--set 'alpha': expected NAME=VALUE"),
        (["--name", "a b!"], "--name 'a b!': 1-64 letters"),
        (["--train", "s3://b/t/", "--validation", "s3://b/v/"], "need --data-month (YYYY-MM)"),
        (["--train", "s3://b/t/"], "give --train and --validation together"),
        (["--data-month", "2026-13"], "--data-month '2026-13': expected YYYY-MM"),
        (["--data-from", "no-such-job"], "training job no-such-job: "),
        (["--instance-type", "m5.xlarge"], "--instance-type 'm5.xlarge': String should match"),
    ],
)
def test_launch_refuses_what_it_cannot_run_naming_the_flag(settings_file, capsys, flags, message):
    code, _, err = run_tool(settings_file, capsys, "launch", MODEL, *flags)
    assert code == 2
    assert message in err


def test_launch_names_a_model_the_countries_file_lacks(settings_file, capsys):
    code, _, err = run_tool(settings_file, capsys, "launch", "zz", "--train", "s3://b/t/")
    assert code == 2
    assert "model 'zz' is not configured" in err


def test_packages_lists_the_models_versions_newest_first_with_their_metrics(
    settings_file, registered, capsys
):
    code, out, err = run_tool(settings_file, capsys, "packages", MODEL)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{registered['group']}: 2 version(s)"
    assert lines[1].startswith("v2  PendingManualApproval")
    assert lines[2].strip() == "validation_macro_f1=0.740000"
    assert lines[3].startswith("v1  PendingManualApproval")
    assert lines[4].strip() == "validation_macro_f1=0.710000"


def test_approve_and_reject_set_the_status_with_who_when_and_why(
    aws, settings_file, registered, capsys
):
    code, out, err = run_tool(
        settings_file,
        capsys,
        "approve",
        MODEL,
        "2",
        "--reason",
        "golden set  re-checked",
        "--by",
        "ana",
    )
    assert code == 0, err
    assert out.startswith("v2  Approved")
    code, _, err = run_tool(
        settings_file, capsys, "reject", MODEL, "1", "--reason", "mislabeled extract", "--by", "ana"
    )
    assert code == 0, err
    sagemaker = aws.client("sagemaker")
    second, first = (
        sagemaker.describe_model_package(ModelPackageName=arn) for arn in registered["arns"][::-1]
    )
    assert second["ModelApprovalStatus"] == "Approved"
    assert second["ApprovalDescription"].startswith("manual approve by ana at ")
    assert second["ApprovalDescription"].endswith(": golden set re-checked")
    assert first["ModelApprovalStatus"] == "Rejected"
    assert first["ApprovalDescription"].endswith(": mislabeled extract")
    code, out, _ = run_tool(settings_file, capsys, "packages", MODEL, "--status", "Approved")
    assert out.splitlines()[0].endswith(": 1 version(s)")
    assert out.splitlines()[1].startswith("v2  Approved")


def test_a_decision_needs_a_reason_and_a_version_the_group_holds(settings_file, registered, capsys):
    code, _, err = run_tool(settings_file, capsys, "reject", MODEL, "1", "--reason", "  ")
    assert code == 2
    assert "--reason must say why" in err
    code, _, err = run_tool(settings_file, capsys, "approve", MODEL, "9", "--reason", "ok")
    assert code == 2
    assert f"registry group {registered['group']} has no version 9" in err


def test_the_sdk_session_sends_no_telemetry(settings):
    from sagemaker.core.common_utils import resolve_value_from_config
    from sagemaker.core.config.config_schema import TELEMETRY_OPT_OUT_PATH

    session = experiment.sdk_session(settings)
    assert resolve_value_from_config(
        config_path=TELEMETRY_OPT_OUT_PATH, sagemaker_session=session, default_value=False
    )


def test_the_script_runs_as_make_experiment_runs_it(settings_file):
    done = subprocess.run(
        [sys.executable, "scripts/experiment.py", "--settings", str(settings_file)]
        + ["packages", "xx"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("model 'xx' is not configured")
