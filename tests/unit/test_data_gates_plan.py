"""The data gates on the Airflow side: the ``gates:`` section of the countries file, the
thresholds and the drift reference the train plan gives the prepare job, and the profile URI a
registered challenger carries (the next month's reference once it wins). moto's DynamoDB,
SageMaker registry and S3."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from mlops import sagemaker_requests as requests
from mlops import steps
from mlops.config import CountriesConfigError, Gates, get_model, load_countries
from mlops.model_registry import describe_candidate
from mlops.winners import table_key_schema
from moto import mock_aws

from tests.unit.conftest import REPO

REGION = "eu-west-1"
RUN_ID = "manual__2026-12-02T03:00:00+00:00"
PROFILE = "s3://mlops-local-models/de/runs/0b74/prepare/profile/profile.json"
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")

COUNTRIES = """
countries:
  - code: de
    code_table_version: v1
    gates: {min_items: 250, max_class_distance: 0.3}
    schemes:
      batteries:
        gates: {max_vanished_classes: 1}
  - {code: gb, code_table_version: v1}
"""


def write(tmp_path, text: str):
    path = tmp_path / "countries.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def countries(tmp_path):
    return write(tmp_path, COUNTRIES)


@pytest.fixture
def aws(monkeypatch, settings):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=settings.winners_table, **table_key_schema(), BillingMode="PAY_PER_REQUEST"
        )
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(
            Bucket=settings.model_bucket,
            CreateBucketConfiguration={"LocationConstraint": REGION},
        )
        yield {
            "dynamodb": dynamodb,
            "s3": s3,
            "sagemaker": boto3.client("sagemaker", region_name=REGION),
        }


def crown(aws, settings, model_key: str, **fields) -> None:
    table = aws["dynamodb"].Table(settings.winners_table)
    item = {"model_name": "m", "model_package_arn": "arn:p/1", "data_month": "2026-10"} | fields
    table.put_item(Item={"pk": model_key, "sk": "CURRENT", **item})


def plan(aws, settings, model):
    return steps.plan_training(
        settings, model, run_id=RUN_ID, data_month="2026-11", dynamodb=aws["dynamodb"]
    )


def inputs(request: dict) -> dict[str, str]:
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}


# ---------------------------------------------------------------- the plan
def test_the_plan_gives_prepare_the_winners_profile_as_reference(aws, settings, countries):
    model = get_model("de", countries)
    crown(aws, settings, "de", profile_uri=PROFILE)
    planned = plan(aws, settings, model)
    request = planned["prepare_request"]
    assert inputs(request)["reference_profile"] == PROFILE
    channel = next(i for i in request["ProcessingInputs"] if i["InputName"] == "reference_profile")
    assert channel["S3Input"]["LocalPath"] == "/opt/ml/processing/input/reference_profile"
    assert planned["reference"] == {
        "profile_uri": PROFILE,
        "data_month": "2026-10",
        "model_package_arn": "arn:p/1",
    }
    report = ParamValidator().validate(
        request, SAGEMAKER.operation_model("CreateProcessingJob").input_shape
    )
    assert not report.has_errors(), report.generate_report()


def test_the_plan_gives_prepare_the_models_thresholds(aws, settings, countries):
    environment = plan(aws, settings, get_model("de", countries))["prepare_request"]["Environment"]
    assert environment["GATE_MIN_ITEMS"] == "250"
    assert environment["GATE_MAX_CLASS_DISTANCE"] == "0.3"
    assert environment["GATE_MIN_CLASSES"] == str(Gates().min_classes)
    assert {k for k in environment if k.startswith("GATE_")} == {
        f"GATE_{name.upper()}" for name in Gates.model_fields
    }
    # A scheme inherits its country's gates and overrides what it sets.
    scheme = plan(aws, settings, get_model("de-batteries", countries))
    assert scheme["prepare_request"]["Environment"]["GATE_MIN_ITEMS"] == "250"
    assert scheme["prepare_request"]["Environment"]["GATE_MAX_VANISHED_CLASSES"] == "1"


def test_without_a_winner_there_is_no_reference(aws, settings, countries):
    planned = plan(aws, settings, get_model("gb", countries))
    assert "reference_profile" not in inputs(planned["prepare_request"])
    assert planned["reference"]["profile_uri"] == ""


def test_a_winner_without_a_profile_gives_no_reference(aws, settings, countries):
    crown(aws, settings, "gb")  # registered before challengers carried their profile
    planned = plan(aws, settings, get_model("gb", countries))
    assert "reference_profile" not in inputs(planned["prepare_request"])


def test_another_models_winner_is_not_the_reference(aws, settings, countries):
    crown(aws, settings, "de", profile_uri=PROFILE)
    planned = plan(aws, settings, get_model("de-batteries", countries))
    assert "reference_profile" not in inputs(planned["prepare_request"])


# ---------------------------------------------------------------- registration
def registered(aws, settings, model, *, s3=None):
    planned = steps.plan_training(
        settings, model, run_id=RUN_ID, data_month="2026-11", dynamodb=aws["dynamodb"]
    )
    training = {
        "TrainingJobName": "t",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{settings.model_bucket}/m/model.tar.gz"},
        "FinalMetricDataList": [{"MetricName": "validation:macro_f1", "Value": 0.9}],
    }
    prepared = {"Processing": planned["prepare_request"]}
    outcome = steps.register_challenger(
        aws["sagemaker"],
        settings,
        model,
        planned["run"],
        prepared,
        {"Training": training},
        {"Model": {"ModelName": "mlops-gb-model-1"}},
        s3=s3,
    )
    return outcome, requests.processing_outputs(planned["prepare_request"])["profile"]


def test_the_challenger_carries_its_training_profile(aws, settings, countries):
    outcome, profile_prefix = registered(aws, settings, get_model("gb", countries))
    expected = profile_prefix + "profile.json"
    assert outcome.value["profile_uri"] == expected
    candidate = describe_candidate(aws["sagemaker"], outcome.value["model_package_arn"])
    assert candidate["profile_uri"] == expected  # what decide_evaluation copies to the winner


def test_the_success_metrics_show_the_gates_summary(aws, settings, countries):
    model = get_model("gb", countries)
    _, profile_prefix = registered(aws, settings, model)
    key = (profile_prefix + "profile.json").removeprefix(f"s3://{settings.model_bucket}/")
    profile = {
        "gates_summary": "9 passed",
        "drift": {"reference": {"data_month": "2026-10"}, "class_distance": 0.03},
    }
    aws["s3"].put_object(Bucket=settings.model_bucket, Key=key, Body=json.dumps(profile))
    outcome, _ = registered(aws, settings, model, s3=aws["s3"])
    assert outcome.metrics["data_gates"] == "9 passed"
    assert outcome.metrics["drift_reference_month"] == "2026-10"
    assert outcome.metrics["drift_class_distance"] == 0.03


# ---------------------------------------------------------------- the countries file
def test_gates_outside_their_bounds_are_refused_with_the_field(tmp_path):
    for field, value in (("min_classes", 1), ("max_empty_text_share", 1.5), ("min_items", 0)):
        path = write(
            tmp_path,
            f"countries:\n  - {{code: de, code_table_version: v1, gates: {{{field}: {value}}}}}\n",
        )
        with pytest.raises(CountriesConfigError) as error:
            load_countries(path)
        assert f"field 'gates.{field}'" in str(error.value)


def test_an_unknown_gate_is_refused(tmp_path):
    path = write(tmp_path, "countries:\n  - {code: de, code_table_version: v1, gates: {x: 1}}\n")
    with pytest.raises(CountriesConfigError, match="gates.x"):
        load_countries(path)


def _image_gates(monkeypatch):
    """ml_processing.gates, the prepare job's side (plain Python: no image needed)."""
    monkeypatch.syspath_prepend(str(REPO / "docker" / "common" / "src"))
    path = REPO / "docker" / "processing" / "src" / "ml_processing" / "gates.py"
    spec = importlib.util.spec_from_file_location("_image_gates", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_defaults_and_names_agree_with_the_prepare_job(monkeypatch):
    image = _image_gates(monkeypatch)
    assert image.GateSettings().as_dict() == Gates().model_dump()
    custom = Gates(min_items=7, max_duplicate_share=0.25, max_new_classes=0)
    assert image.GateSettings.from_env(custom.environment()).as_dict() == custom.model_dump()
