"""Every DAG task's body, called as the library function it is, against moto's S3, DynamoDB and
SageMaker registry: no Airflow, no DAG run. The XCom inputs have the shapes the provider operators
push (``{"Processing": ...}``, ``{"Training": ...}``...)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from mlops import sagemaker_requests as requests
from mlops import steps, winners
from mlops.config import get_model
from mlops.deployment import DeploymentError
from mlops.model_registry import ModelRegistryError
from mlops.winners import WinnersRegistry, WinnersWriteError, table_key_schema
from moto import mock_aws

from tests.support.botocore_faults import cancelled, inject, service_error
from tests.unit.conftest import DEFAULT_COUNTRIES

REGION = "eu-west-1"
RUN_ID = "manual__2026-11-22T03:23:26.123456+00:00"
STARTED = "2026-11-22T03:23:27+00:00"
MONTH = "2026-10"
GB = get_model("gb", DEFAULT_COUNTRIES)
BATTERIES = get_model("de-batteries", DEFAULT_COUNTRIES)


class Aws:
    """moto's clients, created inside one mock_aws context."""

    def __init__(self, settings):
        self.sagemaker = boto3.client("sagemaker", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        for bucket in (settings.data_bucket, settings.model_bucket):
            self.s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        self.winners = WinnersRegistry(
            *(
                self.dynamodb.create_table(
                    TableName=name, **table_key_schema(), BillingMode="PAY_PER_REQUEST"
                )
                for name in (settings.winners_table, settings.winners_history_table)
            )
        )

    def put_text(self, uri: str, text: str) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


@pytest.fixture
def aws(monkeypatch, settings):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield Aws(settings)


# ---------------------------------------------------------------- shapes of upstream XCom
def planned(settings, model=GB):
    return steps.plan_training(settings, model, run_id=RUN_ID, data_month=MONTH, dynamodb=None)


def prepared(plan):
    return {"Processing": plan["prepare_request"]}


def trained(name="mlops-gb-train-0b74bdb0", macro_f1=0.91):
    return {
        "Training": {
            "TrainingJobName": name,
            "ModelArtifacts": {
                "S3ModelArtifacts": f"s3://mlops-local-models/gb/{name}/model.tar.gz"
            },
            "FinalMetricDataList": [
                {"MetricName": "validation:macro_f1", "Value": macro_f1},
                {"MetricName": "validation:accuracy", "Value": 0.93},
            ],
        }
    }


def registered(aws, settings, model=GB, model_name="mlops-gb-model-0b74bdb0"):
    plan = planned(settings, model)
    return steps.register_challenger(
        aws.sagemaker,
        settings,
        model,
        plan["run"],
        prepared(plan),
        trained(),
        {"Model": {"ModelName": model_name}},
    )


def transformed(uri):
    return {"Transform": {"TransformOutput": {"S3OutputPath": uri}}}


# ---------------------------------------------------------------- train
def test_training_plan_names_the_month_and_prepares_its_labeled_data(settings):
    plan = planned(settings)
    assert plan["run"] == {
        "run_id": RUN_ID,
        "data_month": MONTH,
        "code_version": settings.code_version,
    }
    assert plan["prepare_request"]["Environment"]["DATA_MONTH"] == MONTH


def test_tuning_and_training_requests_read_the_splits_prepare_wrote(settings):
    plan = planned(settings)
    outputs = requests.processing_outputs(plan["prepare_request"])
    tuning = steps.tuning_request_after_prepare(settings, GB, plan["run"], prepared(plan))
    channels = tuning["TrainingJobDefinition"]["InputDataConfig"]
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels}
    assert uris == {"train": outputs["train"], "validation": outputs["validation"]}
    tuned = {"Tuning": {"BestTrainingJob": {"TunedHyperParameters": {"alpha": '"0.001"'}}}}
    training = steps.training_request_after_tuning(settings, GB, plan["run"], prepared(plan), tuned)
    assert training["HyperParameters"]["alpha"] == "0.001"


def test_model_request_serves_the_final_training_jobs_artifacts(settings):
    plan = planned(settings)
    request = steps.model_request_after_training(settings, GB, plan["run"], trained())
    artifacts = trained()["Training"]["ModelArtifacts"]["S3ModelArtifacts"]
    assert request["PrimaryContainer"]["ModelDataUrl"] == artifacts


def test_final_metrics_are_parsed_as_floats():
    assert steps.final_metrics(trained()["Training"]) == {
        "validation:macro_f1": 0.91,
        "validation:accuracy": 0.93,
    }
    assert steps.final_metrics({}) == {}


def test_registering_builds_a_pending_challenger_with_what_evaluate_needs(aws, settings):
    outcome = registered(aws, settings)
    challenger = outcome.value
    package = aws.sagemaker.describe_model_package(ModelPackageName=challenger["model_package_arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelPackageGroupName"] == f"{settings.name_prefix}-gb"
    assert challenger["model_name"] == "mlops-gb-model-0b74bdb0"
    assert challenger["data_month"] == MONTH
    assert challenger["model_key"] == "gb"
    assert challenger["test_labels_uri"].endswith("/prepare/test_labels/")
    assert outcome.metrics["validation:macro_f1"] == 0.91
    assert outcome.metrics["model_package_arn"] == challenger["model_package_arn"]


def test_a_scheme_models_challenger_lands_in_its_own_group(aws, settings):
    challenger = registered(aws, settings, BATTERIES, "mlops-de-batteries-model-1").value
    package = aws.sagemaker.describe_model_package(ModelPackageName=challenger["model_package_arn"])
    assert package["ModelPackageGroupName"] == f"{settings.name_prefix}-de-batteries"
    assert challenger["model_key"] == "de-batteries"


# ---------------------------------------------------------------- evaluate
def put_golden_set(aws, settings, model=GB, version=None) -> dict:
    """The model's golden set of its code table, as the data owner uploads it."""
    golden = requests.golden_set_uris(settings, model, version or model.code_table_version)
    aws.put_text(golden["features_uri"], json.dumps({"item_id": "g-1", "title": "Kettle"}) + "\n")
    aws.put_text(golden["labels_uri"], json.dumps({"item_id": "g-1", "label": "UK-WEEE-02"}) + "\n")
    return golden


def plan_evaluation(aws, settings, model=GB, golden=True, **kwargs):
    if golden:
        put_golden_set(aws, settings, model)
    return steps.plan_evaluation(
        aws.sagemaker,
        aws.dynamodb,
        settings,
        model,
        s3=aws.s3,
        run_id=RUN_ID,
        run_started_at=STARTED,
        **kwargs,
    )


def test_first_evaluation_has_no_champion_and_no_champion_transform(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    plan = plan_evaluation(aws, settings, package_arn=arn)
    assert plan["challenger"]["model_package_arn"] == arn
    assert plan["champion"] is None and plan["champion_transform_request"] is None
    transform = plan["challenger_transform_request"]
    assert transform["ModelName"] == "mlops-gb-model-0b74bdb0"
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].endswith(
        "/test_features/"
    )
    assert plan["run"]["data_month"] == MONTH


def test_the_triggering_event_names_the_challenger_when_no_param_does(aws, settings):
    older = registered(aws, settings, model_name="m-older").value["model_package_arn"]
    newer = registered(aws, settings, model_name="m-newer").value["model_package_arn"]
    plan = plan_evaluation(aws, settings, triggering_extras=[{"model_package_arn": older}])
    assert plan["challenger"]["model_package_arn"] == older
    assert plan_evaluation(aws, settings)["challenger"]["model_package_arn"] == newer


def record_champion(aws) -> None:
    aws.winners.record(
        model_key="gb",
        candidate={"model_name": "champion-model", "model_package_arn": "arn:champ"},
        decision={"promote": True},
        run_id="earlier",
        run_started_at="2026-10-01T00:00:00+00:00",
        decided_at="2026-10-01T01:00:00+00:00",
        expected_version=None,
    )


def test_with_a_champion_both_transforms_are_built(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    record_champion(aws)
    plan = plan_evaluation(aws, settings, package_arn=arn)
    assert plan["champion"]["model_name"] == "champion-model"
    assert plan["champion_transform_request"]["ModelName"] == "champion-model"
    assert (
        plan["champion_transform_request"]["TransformJobName"]
        != plan["challenger_transform_request"]["TransformJobName"]
    )


def test_a_champion_override_is_compared_but_the_write_stays_on_the_current_winner(aws, settings):
    challenger = registered(aws, settings, model_name="m-challenger").value["model_package_arn"]
    override = registered(aws, settings, model_name="m-override").value["model_package_arn"]
    record_champion(aws)
    current = aws.winners.current("gb")
    plan = plan_evaluation(aws, settings, package_arn=challenger, champion_package_arn=override)
    assert plan["champion"]["model_package_arn"] == override
    assert plan["champion_transform_request"]["ModelName"] == "m-override"
    assert plan["champion"]["version"] == current["version"]
    with pytest.raises(ModelRegistryError, match="champion_package_arn is the challenger"):
        plan_evaluation(aws, settings, package_arn=challenger, champion_package_arn=challenger)


GOLDEN = {"labels_uri": "s3://d/gb/golden/2026-01/labels.jsonl"}


def evaluation_request(settings, champion: bool, champion_golden: bool | None = None):
    champion_golden = champion if champion_golden is None else champion_golden
    return steps.evaluation_request_after_transforms(
        settings,
        GB,
        planned(settings)["run"],
        {"test_labels_uri": "s3://m/labels/"},
        transformed("s3://m/challenger/"),
        transformed("s3://m/c/") if champion else None,
        golden=GOLDEN,
        challenger_golden_result=transformed("s3://m/challenger-golden/"),
        champion_golden_result=transformed("s3://m/c-golden/") if champion_golden else None,
    )


def test_evaluation_request_takes_the_champion_output_only_when_it_ran(settings):
    without, with_champion = (evaluation_request(settings, c) for c in (False, True))
    names = [[i["InputName"] for i in r["ProcessingInputs"]] for r in (without, with_champion)]
    assert names == [
        ["challenger", "labels", "golden_challenger", "golden_labels"],
        [
            "challenger",
            "champion",
            "labels",
            "golden_challenger",
            "golden_champion",
            "golden_labels",
        ],
    ]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in with_champion["ProcessingInputs"]}
    assert inputs["golden_labels"] == GOLDEN["labels_uri"]
    assert inputs["golden_champion"] == "s3://m/c-golden/"


@pytest.mark.parametrize("champion_golden", [True, False])
def test_the_champion_is_scored_on_both_sets_or_on_neither(settings, champion_golden):
    with pytest.raises(ValueError, match="champion's transform output must be given for the test"):
        evaluation_request(settings, not champion_golden, champion_golden)


def test_a_missing_golden_set_fails_the_plan_naming_model_version_and_uri(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    golden = requests.golden_set_uris(settings, GB, GB.code_table_version)
    with pytest.raises(steps.GoldenSetError) as refused:
        plan_evaluation(aws, settings, golden=False, package_arn=arn)
    message = str(refused.value)
    assert f"no golden set for model gb, code table {GB.code_table_version}" in message
    assert f"at {golden['uri']}:" in message
    assert f"{golden['features_uri']} (not found)" in message
    assert f"{golden['labels_uri']} (not found)" in message


def test_a_golden_set_missing_one_file_fails_too_and_names_that_file(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    golden = put_golden_set(aws, settings)
    bucket, _, key = golden["features_uri"].removeprefix("s3://").partition("/")
    aws.s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(steps.GoldenSetError, match="features.jsonl \\(not found\\)") as refused:
        plan_evaluation(aws, settings, golden=False, package_arn=arn)
    assert "labels.jsonl (" not in str(refused.value)


def test_an_empty_golden_file_fails_the_plan_too(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    golden = put_golden_set(aws, settings)
    aws.put_text(golden["labels_uri"], "")
    with pytest.raises(steps.GoldenSetError, match="labels.jsonl \\(empty\\)"):
        plan_evaluation(aws, settings, golden=False, package_arn=arn)


def test_the_golden_set_is_transformed_by_both_models_under_its_own_job_names(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    first = plan_evaluation(aws, settings, package_arn=arn)
    assert first["champion_golden_transform_request"] is None
    record_champion(aws)
    plan = plan_evaluation(aws, settings, package_arn=arn)
    golden = plan["golden"]
    assert golden == requests.golden_set_uris(settings, GB, GB.code_table_version)
    assert golden["uri"] == f"s3://{settings.data_bucket}/gb/golden/{GB.code_table_version}/"
    for role, model_name in (
        ("challenger", "mlops-gb-model-0b74bdb0"),
        ("champion", "champion-model"),
    ):
        request = plan[f"{role}_golden_transform_request"]
        source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        assert source == golden["features_uri"]
        assert request["ModelName"] == model_name
        assert request["TransformOutput"]["S3OutputPath"].endswith(f"/evaluation/{role}-golden/")
    names = {
        plan[f"{r}_transform_request"]["TransformJobName"]
        for r in ("challenger", "champion", "challenger_golden", "champion_golden")
    }
    assert len(names) == 4


def test_the_golden_set_follows_the_code_table_the_challenger_was_trained_on():
    assert steps.golden_set_version(GB, {}) == GB.code_table_version
    assert steps.golden_set_version(GB, {"code_table_version": "v9"}) == "v9"


def test_compare_refuses_a_first_challenger_below_the_floor_on_the_golden_set(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    evaluated = evaluation_outputs(aws, settings, 0.95, golden_f1=0.3)
    outcome = compare(aws, settings, plan["challenger"], None, evaluated)
    assert outcome.value["outcome"] == "kept_champion"
    assert "golden set: macro_f1 0.3000 < absolute floor" in outcome.metrics["reasons"]
    assert approval(aws, challenger["model_package_arn"]) == "Rejected"
    assert aws.winners.current("gb") is None


def test_decide_records_the_golden_set_and_its_numbers(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    decided = steps.decide_evaluation(
        aws.s3,
        GB,
        challenger=plan["challenger"],
        champion=None,
        evaluated=evaluation_outputs(aws, settings, 0.95, golden_f1=0.85),
    )
    assert decided["decision"]["promote"] is True
    assert decided["decision"]["golden_challenger_score"] == 0.85
    assert decided["candidate"]["golden_set_uri"] == "s3://d/gb/golden/2026-01/"
    assert decided["candidate"]["golden_metrics"] == {"accuracy": 0.9, "macro_f1": 0.85}
    assert decided["golden"]["champion"] is None


def test_decide_refuses_an_evaluation_without_golden_results(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    evaluated = evaluation_outputs(aws, settings, 0.95)
    report = requests.processing_outputs(evaluated["Processing"])["evaluation"]
    aws.put_text(report + "metrics.json", json.dumps({"challenger": {"macro_f1": 0.95}}))
    with pytest.raises(steps.GoldenSetError, match="metrics.json has no golden-set results"):
        steps.decide_evaluation(
            aws.s3, GB, challenger=plan["challenger"], champion=None, evaluated=evaluated
        )


def evaluation_outputs(
    aws, settings, challenger_f1, champion_f1=None, per_item=(), golden_f1=0.9, golden_items=()
):
    """Write what the evaluate job writes and return its operator's XCom."""
    request = evaluation_request(settings, champion=champion_f1 is not None)
    report = requests.processing_outputs(request)["evaluation"]
    per_class = {"GB-1": {"recall": 0.9, "support": 10}}

    def scored(macro_f1):
        return {"macro_f1": macro_f1, "accuracy": 0.9, "per_class": per_class}

    metrics = {
        "challenger": scored(challenger_f1),
        "champion": None if champion_f1 is None else scored(champion_f1),
        "golden": {
            "challenger": scored(golden_f1),
            "champion": None if champion_f1 is None else scored(0.9),
            "n_items": len(golden_items),
        },
    }
    aws.put_text(report + "metrics.json", json.dumps(metrics))
    aws.put_text(report + "per_item.jsonl", "".join(json.dumps(i) + "\n" for i in per_item))
    aws.put_text(
        report + "per_item_golden.jsonl", "".join(json.dumps(i) + "\n" for i in golden_items)
    )
    return {"Processing": request}


def compare(
    aws,
    settings,
    challenger,
    champion,
    evaluated,
    run_id=RUN_ID,
    decided_at="2026-11-22T04:00:00+00:00",
):
    run = {**planned(settings)["run"], "run_id": run_id}
    return steps.compare(
        aws.s3,
        aws.sagemaker,
        aws.dynamodb,
        settings,
        GB,
        run=run,
        run_started_at=STARTED,
        challenger=challenger,
        champion=champion,
        evaluated=evaluated,
        decided_at=decided_at,
    )


def approval(aws, arn):
    return aws.sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]


def test_compare_promotes_a_first_challenger_above_the_floor_and_approves_it(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    outcome = compare(
        aws, settings, plan["challenger"], None, evaluation_outputs(aws, settings, 0.9)
    )
    assert outcome.value["winner_changed"] is True
    assert outcome.value["outcome"] == "promoted"
    assert outcome.value["report_uri"].endswith("/report.html")
    assert approval(aws, challenger["model_package_arn"]) == "Approved"
    current = aws.winners.current("gb")
    assert current["model_package_arn"] == challenger["model_package_arn"]
    assert current["metrics"] == {"accuracy": 0.9, "macro_f1": 0.9}
    assert outcome.metrics["outcome"] == "promoted"
    assert outcome.metrics["champion_macro_f1"] == "none"


def test_compare_rejects_a_challenger_below_the_floor_and_keeps_no_winner(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    outcome = compare(
        aws, settings, plan["challenger"], None, evaluation_outputs(aws, settings, 0.3)
    )
    assert outcome.value["outcome"] == "kept_champion"
    assert approval(aws, challenger["model_package_arn"]) == "Rejected"
    assert aws.winners.current("gb") is None
    assert "absolute floor" in outcome.metrics["reasons"]


def test_two_evaluations_of_one_challenger_racing_leave_it_approved(aws, settings):
    package = registered(aws, settings, model_name="m-raced").value
    plan = plan_evaluation(aws, settings, package_arn=package["model_package_arn"])
    # The other evaluation of the same package promoted it after this one read "no champion".
    compare(
        aws,
        settings,
        plan["challenger"],
        None,
        evaluation_outputs(aws, settings, 0.9),
        run_id="manual__concurrent",
    )
    outcome = compare(
        aws, settings, plan["challenger"], None, evaluation_outputs(aws, settings, 0.9)
    )
    assert outcome.value["outcome"] == "lost_race"
    described = aws.sagemaker.describe_model_package(ModelPackageName=package["model_package_arn"])
    assert described["ModelApprovalStatus"] == "Approved"
    assert aws.winners.current("gb")["model_package_arn"] == package["model_package_arn"]


def test_compare_that_loses_the_race_says_so_and_rejects(aws, settings):
    first = registered(aws, settings, model_name="m-first").value
    second = registered(aws, settings, model_name="m-second").value
    plan = plan_evaluation(aws, settings, package_arn=second["model_package_arn"])
    # Another evaluation promoted its challenger after this one read "no champion".
    compare(
        aws,
        settings,
        plan_evaluation(aws, settings, package_arn=first["model_package_arn"])["challenger"],
        None,
        evaluation_outputs(aws, settings, 0.9),
        run_id="manual__concurrent",
    )
    outcome = compare(
        aws, settings, plan["challenger"], None, evaluation_outputs(aws, settings, 0.95)
    )
    assert outcome.value["outcome"] == "lost_race"
    assert outcome.value["winner_changed"] is False
    assert steps.LOST_RACE_REASON in outcome.metrics["reasons"]
    package = aws.sagemaker.describe_model_package(ModelPackageName=second["model_package_arn"])
    assert package["ModelApprovalStatus"] == "Rejected"
    assert steps.LOST_RACE_REASON in package["ApprovalDescription"]
    assert aws.winners.current("gb")["model_package_arn"] == first["model_package_arn"]


# ---------------------------------------------------------------- transient errors, retries
def promoted_champion(aws, settings) -> str:
    """A first evaluation promotes m-champion: the winner, Approved."""
    first = registered(aws, settings, model_name="m-champion").value
    plan = plan_evaluation(aws, settings, package_arn=first["model_package_arn"])
    compare(
        aws,
        settings,
        plan["challenger"],
        None,
        evaluation_outputs(aws, settings, 0.9),
        run_id="scheduled__earlier",
    )
    return first["model_package_arn"]


def test_a_throttled_promotion_is_retried_and_its_package_approved(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    faults = inject(
        aws.dynamodb.meta.client,
        "TransactWriteItems",
        [cancelled("ThrottlingError", "None"), cancelled("None", "TransactionConflict")],
    )
    outcome = compare(
        aws, settings, plan["challenger"], None, evaluation_outputs(aws, settings, 0.9)
    )
    assert faults.faulted == 2
    assert outcome.value["outcome"] == "promoted" and outcome.value["winner_changed"] is True
    assert approval(aws, challenger["model_package_arn"]) == "Approved"
    assert aws.winners.current("gb")["model_package_arn"] == challenger["model_package_arn"]
    assert steps.LOST_RACE_REASON not in outcome.metrics["reasons"]


def test_a_promotion_that_stays_conflicted_fails_the_task_and_rejects_nothing(
    aws, settings, monkeypatch
):
    monkeypatch.setattr(winners, "BACKOFF_BASE_SECONDS", 0.0)  # no waiting in the test
    champion_arn = promoted_champion(aws, settings)
    champion = aws.winners.current("gb")
    challenger = registered(aws, settings, model_name="m-challenger").value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    assert plan["challenger"]["approval_status"] == "PendingManualApproval"
    inject(
        aws.dynamodb.meta.client,
        "TransactWriteItems",
        [],
        then=cancelled("None", "TransactionConflict"),
    )
    per_item = [{"challenger_correct": True, "champion_correct": False}] * 30
    with pytest.raises(WinnersWriteError, match="failed 8 times on transient DynamoDB errors"):
        compare(
            aws,
            settings,
            plan["challenger"],
            plan["champion"],
            evaluation_outputs(aws, settings, 0.95, 0.5, per_item),
        )
    # Nothing rejected: the challenger is a challenger again, the champion is untouched.
    described = aws.sagemaker.describe_model_package(
        ModelPackageName=challenger["model_package_arn"]
    )
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert "approval withdrawn" in described["ApprovalDescription"]
    assert aws.winners.current("gb") == champion
    assert approval(aws, champion_arn) == "Approved"
    assert [h["run_id"] for h in aws.winners.history("gb")] == ["scheduled__earlier"]


def test_a_retried_compare_that_kept_the_champion_records_once(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    evaluated = evaluation_outputs(aws, settings, 0.3)
    first = compare(aws, settings, plan["challenger"], None, evaluated)
    again = compare(
        aws, settings, plan["challenger"], None, evaluated, decided_at="2026-11-22T05:00:00+00:00"
    )
    assert first.value == again.value and again.value["outcome"] == "kept_champion"
    assert [h["outcome"] for h in aws.winners.history("gb")] == ["kept_champion"]
    assert approval(aws, challenger["model_package_arn"]) == "Rejected"


def test_a_retried_promotion_records_once_and_reports_the_same_result(aws, settings):
    challenger = registered(aws, settings).value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    evaluated = evaluation_outputs(aws, settings, 0.9)
    first = compare(aws, settings, plan["challenger"], None, evaluated)
    # A retry of the task: the same run, the same inputs, a later wall clock.
    again = compare(
        aws, settings, plan["challenger"], None, evaluated, decided_at="2026-11-22T05:00:00+00:00"
    )
    assert first.value == again.value and again.value["outcome"] == "promoted"
    assert again.value["winner_changed"] is True
    assert [h["outcome"] for h in aws.winners.history("gb")] == ["promoted"]
    assert aws.winners.current("gb")["version"] == 1
    assert approval(aws, challenger["model_package_arn"]) == "Approved"


def test_a_retried_promotion_approves_a_winner_left_unapproved(aws, settings):
    challenger = registered(aws, settings).value
    arn = challenger["model_package_arn"]
    plan = plan_evaluation(aws, settings, package_arn=arn)
    evaluated = evaluation_outputs(aws, settings, 0.9)
    compare(aws, settings, plan["challenger"], None, evaluated)
    # The winner write went through but the task failed after it, the version left pending.
    aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval"
    )
    again = compare(aws, settings, plan["challenger"], None, evaluated)
    assert again.value["outcome"] == "promoted"
    assert approval(aws, arn) == "Approved"
    assert len(aws.winners.history("gb")) == 1


def test_a_failed_approval_leaves_the_winner_unchanged(aws, settings):
    promoted_champion(aws, settings)
    champion = aws.winners.current("gb")
    challenger = registered(aws, settings, model_name="m-challenger").value
    plan = plan_evaluation(aws, settings, package_arn=challenger["model_package_arn"])
    inject(aws.sagemaker, "UpdateModelPackage", [service_error("ThrottlingException")])
    per_item = [{"challenger_correct": True, "champion_correct": False}] * 30
    with pytest.raises(ClientError, match="ThrottlingException"):
        compare(
            aws,
            settings,
            plan["challenger"],
            plan["champion"],
            evaluation_outputs(aws, settings, 0.95, 0.5, per_item),
        )
    assert aws.winners.current("gb") == champion
    assert [h["run_id"] for h in aws.winners.history("gb")] == ["scheduled__earlier"]
    assert approval(aws, challenger["model_package_arn"]) == "PendingManualApproval"


def test_winner_event_names_the_model_and_its_new_winner():
    comparison = {"model_name": "m", "model_package_arn": "arn:p", "data_month": MONTH}
    assert steps.winner_event(BATTERIES, comparison) == {
        "country": "de",
        "model_key": "de-batteries",
        "model_name": "m",
        "model_package_arn": "arn:p",
        "data_month": MONTH,
    }


# ---------------------------------------------------------------- deploy
def plan_deployment(aws, settings, **kwargs):
    return steps.plan_deployment(aws.sagemaker, aws.dynamodb, settings, GB, run_id=RUN_ID, **kwargs)


def test_deploy_refuses_a_package_that_is_not_approved(aws, settings):
    arn = registered(aws, settings).value["model_package_arn"]
    with pytest.raises(ModelRegistryError, match=r"deploy__gb: .* is PendingManualApproval"):
        plan_deployment(aws, settings, package_arn=arn)


def test_deploy_refuses_without_a_winner_saying_what_to_run(aws, settings):
    with pytest.raises(ModelRegistryError, match=r"deploy__gb: no winner .* run evaluate__gb"):
        plan_deployment(aws, settings)


def test_deploy_takes_an_approved_package_or_else_the_winner(aws, settings):
    challenger = registered(aws, settings).value
    arn = challenger["model_package_arn"]
    metadata = aws.sagemaker.describe_model_package(ModelPackageName=arn)[
        "CustomerMetadataProperties"
    ]
    # moto drops the metadata on an update that does not repeat it (SageMaker keeps it)
    aws.sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=metadata
    )
    plan = plan_deployment(aws, settings, package_arn=challenger["model_package_arn"])
    assert plan["model_name"] == challenger["model_name"]
    assert (
        plan["endpoint_config_request"]["ProductionVariants"][0]["ModelName"] == plan["model_name"]
    )
    assert plan["invocation"]["EndpointName"] == f"{settings.name_prefix}-gb"
    aws.winners.record(
        model_key="gb",
        candidate={"model_name": "winner-model", "model_package_arn": arn, "data_month": MONTH},
        decision={"promote": True},
        run_id="earlier",
        run_started_at="2026-10-01T00:00:00+00:00",
        decided_at="2026-10-01T01:00:00+00:00",
        expected_version=None,
    )
    assert plan_deployment(aws, settings)["model_name"] == "winner-model"


def test_endpoint_request_deploys_the_created_endpoint_config(settings):
    run = planned(settings)["run"]
    created = {"EndpointConfig": {"EndpointConfigName": "mlops-gb-epc-0b74bdb0"}}
    request = steps.endpoint_request_after_config(settings, GB, run, created)
    assert request["EndpointConfigName"] == "mlops-gb-epc-0b74bdb0"
    assert request["EndpointName"] == f"{settings.name_prefix}-gb"


class _Endpoints:
    """DescribeEndpoint answering one fixed description (moto's endpoints skip rollbacks)."""

    def __init__(self, description):
        self.description = description

    def describe_endpoint(self, EndpointName):  # noqa: N803 - boto3's argument name
        return {"EndpointName": EndpointName, **self.description}


def test_verify_endpoint_passes_on_the_new_config_and_fails_after_a_rollback():
    created = {"EndpointConfig": {"EndpointConfigName": "epc-new"}}
    deployed = {"Endpoint": {"EndpointName": "mlops-gb"}}
    serving = _Endpoints({"EndpointStatus": "InService", "EndpointConfigName": "epc-new"})
    assert steps.verify_endpoint(serving, created, deployed) == {
        "endpoint_name": "mlops-gb",
        "endpoint_config_name": "epc-new",
    }
    rolled_back = _Endpoints({"EndpointStatus": "InService", "EndpointConfigName": "epc-old"})
    with pytest.raises(DeploymentError, match="rolled back"):
        steps.verify_endpoint(rolled_back, created, deployed)


class _Runtime:
    def __init__(self, body: bytes):
        self.body = body
        self.calls: list[dict] = []

    def invoke_endpoint(self, **request):
        self.calls.append(request)
        return {"Body": io.BytesIO(self.body)}


def test_smoke_test_sends_the_invocation_and_reports_the_label(settings):
    runtime = _Runtime(json.dumps([{"label": "UK-1", "confidence": 0.8}]).encode())
    invocation = requests.smoke_invocation(settings, GB)
    verified = {"endpoint_name": "mlops-gb", "endpoint_config_name": "epc-new"}
    outcome = steps.smoke_test(runtime, invocation, verified, "m")
    assert runtime.calls == [invocation]
    assert outcome.value["label"] == "UK-1"
    assert outcome.metrics["smoke_label"] == "UK-1"
    assert outcome.metrics["smoke_confidence"] == 0.8


def test_smoke_test_fails_on_an_answer_without_a_label(settings):
    with pytest.raises(DeploymentError, match="without a label"):
        steps.smoke_test(
            _Runtime(b'{"confidence": 1}'), requests.smoke_invocation(settings, GB), {}, "m"
        )


# ---------------------------------------------------------------- batch inference
def test_month_plan_waits_for_the_models_unlabeled_data(settings):
    plan = steps.plan_month(settings, BATTERIES, data_month=MONTH)
    assert plan == {
        "data_month": MONTH,
        "input_pattern": f"s3://{settings.data_bucket}/de/batteries/{MONTH}/unlabeled/*",
    }


def plan_batch(aws, settings):
    return steps.plan_batch(
        aws.dynamodb, settings, GB, run_id=RUN_ID, data_month=MONTH, sagemaker=aws.sagemaker
    )


def crown(aws, settings, status="Approved", model_name="winner-model", profile_uri="") -> str:
    """Register a version, set its approval ``status``, and make it the winner."""
    arn = registered(aws, settings, model_name=model_name).value["model_package_arn"]
    if status != "PendingManualApproval":
        aws.sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    aws.winners.record(
        model_key="gb",
        candidate={"model_name": model_name, "model_package_arn": arn, "profile_uri": profile_uri},
        decision={"promote": True},
        run_id="earlier",
        run_started_at="2026-10-01T00:00:00+00:00",
        decided_at="2026-10-01T01:00:00+00:00",
        expected_version=None,
    )
    return arn


def test_batch_refuses_without_a_winner_naming_the_dags_to_run(aws, settings):
    with pytest.raises(RuntimeError, match=r"batch_inference__gb: no winner .* train__gb and"):
        plan_batch(aws, settings)


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_batch_refuses_a_winner_that_is_not_approved(aws, settings, status):
    arn = crown(aws, settings, status)
    with pytest.raises(ModelRegistryError) as refused:
        plan_batch(aws, settings)
    message = str(refused.value)
    assert message.startswith("batch_inference__gb: the winner of gb in table ")
    assert f"(model winner-model, package {arn}) is {status}" in message
    assert "approve it in the model registry" in message and "run evaluate__gb" in message


def test_the_winners_profile_uri_reaches_the_batch_plan(aws, settings):
    crown(aws, settings, profile_uri="s3://p/profile.json")
    assert plan_batch(aws, settings)["profile_uri"] == "s3://p/profile.json"


def test_batch_transforms_the_month_with_the_winners_model(aws, settings):
    crown(aws, settings)
    plan = plan_batch(aws, settings)
    assert plan["model_name"] == plan["transform_request"]["ModelName"] == "winner-model"
    source = plan["transform_request"]["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert source == f"s3://{settings.data_bucket}/gb/{MONTH}/unlabeled/"
    request = steps.postprocess_request_after_transform(
        settings, GB, plan["run"], transformed("s3://m/raw/")
    )
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}
    assert inputs["predictions"] == "s3://m/raw/"


def test_summary_is_read_from_the_postprocess_jobs_output(aws, settings):
    run = planned(settings)["run"]
    request = steps.postprocess_request_after_transform(
        settings, GB, run, transformed("s3://m/raw/")
    )
    outputs = requests.processing_outputs(request)
    aws.put_text(outputs["summary"] + "summary.json", json.dumps({"rows": 10, "needs_review": 2}))
    outcome = steps.summarize(aws.s3, run, "winner-model", {"Processing": request})
    assert outcome.value == {"rows": 10, "needs_review": 2}
    assert outcome.metrics["rows"] == 10
    assert outcome.metrics["predictions"] == outputs["predictions"]
