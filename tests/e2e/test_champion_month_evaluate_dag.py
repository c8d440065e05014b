"""The evaluate DAG, for real, in a month where the model already has a champion.

Two real models of one real prepared month (the project's images through the local stack, built
with the train steps' own requests): the champion, fitted with crippled hyperparameters, sits in
the winners table as an earlier month's evaluation left it; the challenger, with the defaults, is
a PendingManualApproval version. Then the real evaluate DAG runs (`dag.test()` in a worker,
local/pipeline.py): both batch transforms of the month's test set and of the model's golden set
(the demo generator's, uploaded with the month), the evaluate job, compare.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from mlops import sagemaker_requests as requests
from mlops import steps
from mlops.config import get_model
from mlops.model_registry import set_approval
from mlops.notifications import METRICS_XCOM_KEY
from mlops.settings import parse_settings
from mlops.winners import WinnersRegistry

from local.pipeline import LocalEnvironment, local_training_budget, return_value
from tests.support.local_stack import read_text, wait_for

pytestmark = pytest.mark.slow

COUNTRY = "gb"
MONTH = "2026-10"
# The champion learns almost nothing: huge regularisation, one pass.
WEAK = {"alpha": "1.0", "max_iter": "1"}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with LocalEnvironment(
        tmp_path_factory.mktemp("champion-month"),
        [COUNTRY],
        [MONTH],
        items=600,
        country_overrides=local_training_budget,
    ) as environment:
        yield environment


def completed(describe, status_key: str) -> dict:
    answer = wait_for(describe, status_key, timeout=600)
    assert answer[status_key] == "Completed", answer.get("FailureReason")
    return answer


def train(local, settings, model, run: dict, prepared: dict, hyperparameters: dict) -> dict:
    """One real training job (no tuning) and its model: the train steps' requests, as XCom."""
    sagemaker = local.stack.client("sagemaker")
    tuned = {"Tuning": {"BestTrainingJob": {"TunedHyperParameters": hyperparameters}}}
    request = steps.training_request_after_tuning(settings, model, run, prepared, tuned)
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    trained = {
        "Training": completed(
            lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus"
        )
    }
    created = steps.model_request_after_training(settings, model, run, trained)
    sagemaker.create_model(**created)
    return steps.register_challenger(
        sagemaker, settings, model, run, prepared, trained, {"Model": created}
    ).value


@pytest.fixture(scope="module")
def month(local):
    """Champion crowned, challenger registered; then the evaluate DAG's run and its outcome."""
    settings = parse_settings(local.settings)
    model = get_model(COUNTRY, local.countries_files[MONTH])
    sagemaker = local.stack.client("sagemaker")
    plan = steps.plan_training(
        settings,
        model,
        run_id="scheduled__2026-11-02T04:00:00+00:00",
        data_month=MONTH,
        dynamodb=_dynamodb(local),
    )
    sagemaker.create_processing_job(**plan["prepare_request"])
    job = plan["prepare_request"]["ProcessingJobName"]
    prepared = {
        "Processing": completed(
            lambda: sagemaker.describe_processing_job(ProcessingJobName=job),
            "ProcessingJobStatus",
        )
    }
    champion_run = {**plan["run"], "run_id": "scheduled__2026-10-02T04:00:00+00:00"}
    champion = train(local, settings, model, champion_run, prepared, WEAK)
    challenger = train(local, settings, model, plan["run"], prepared, {})
    set_approval(sagemaker, champion["model_package_arn"], True, ["an earlier month's winner"])
    table = WinnersRegistry(_dynamodb(local).Table(settings.winners_table))
    table.record(
        model_key=model.key,
        candidate={
            "model_name": champion["model_name"],
            "model_package_arn": champion["model_package_arn"],
            "data_month": "2026-09",
        },
        decision={"promote": True},
        run_id=champion_run["run_id"],
        run_started_at="2026-10-02T04:00:00+00:00",
        decided_at=datetime.now(UTC).isoformat(),
        expected_version=None,
    )
    run = local.run(
        COUNTRY,
        [local.plan(MONTH, steps=["evaluate"], challenger=challenger["model_package_arn"])],
        retries=0,
    )
    return {
        "run": run,
        "evaluate": run.last("evaluate"),
        "champion": champion,
        "challenger": challenger,
        "table": table,
        "model": model,
    }


def _dynamodb(local):
    import boto3

    return boto3.resource(
        "dynamodb",
        endpoint_url=local.stack.endpoint_url,
        region_name=local.stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_champion_is_transformed_and_its_output_reaches_the_evaluate_job(month):
    assert month["run"].ok, month["run"].error
    outcome = month["evaluate"]
    assert outcome["tasks"]["transform_champion"]["state"] == "success"
    champion_transform = return_value(outcome, "transform_champion")["Transform"]
    assert champion_transform["ModelName"] == month["champion"]["model_name"]
    assert champion_transform["TransformJobStatus"] == "Completed"
    evaluated = return_value(outcome, "evaluate_models")["Processing"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluated["ProcessingInputs"]}
    expected = champion_transform["TransformOutput"]["S3OutputPath"]
    assert inputs.get("champion", "").rstrip("/") == expected.rstrip("/"), inputs


def test_compare_decides_on_the_champions_numbers_from_the_evaluate_job(local, month):
    assert month["run"].ok, month["run"].error
    outcome = month["evaluate"]
    evaluated = return_value(outcome, "evaluate_models")["Processing"]
    report = requests.processing_outputs(evaluated)["evaluation"]
    written = json.loads(read_text(local.stack.client("s3"), report + "metrics.json"))
    assert written["champion"] is not None
    assert written["champion"]["macro_f1"] < written["challenger"]["macro_f1"]
    per_item = read_text(local.stack.client("s3"), report + "per_item.jsonl").splitlines()
    assert all(json.loads(line)["champion_label"] for line in per_item)

    comparison = return_value(outcome, "compare")
    reported = outcome["xcoms"]["compare"][METRICS_XCOM_KEY]
    assert reported["champion_macro_f1"] == written["champion"]["macro_f1"]
    assert reported["challenger_macro_f1"] == written["challenger"]["macro_f1"]
    assert comparison["outcome"] == "promoted", reported["reasons"]
    current = month["table"].current(month["model"].key)
    assert current["model_package_arn"] == month["challenger"]["model_package_arn"]
    assert current["version"] == 2
    history = month["table"].history(month["model"].key)
    [decided] = [e for e in history if e["run_id"] == outcome["run_id"]]
    assert decided["outcome"] == "promoted"
    assert decided["decision"]["champion_score"] == written["champion"]["macro_f1"]
    assert outcome["tasks"]["publish_winner"]["state"] == "success"


def test_both_models_are_scored_on_the_golden_set_and_the_decision_shows_it(local, month):
    assert month["run"].ok, month["run"].error
    outcome = month["evaluate"]
    model = month["model"]
    golden = return_value(outcome, "build_requests")["golden"]
    assert golden["uri"] == (
        f"s3://{local.settings['data_bucket']}/{model.prefix}/golden/{model.code_table_version}/"
    )
    outputs = {}
    for role in ("challenger", "champion"):
        task = f"transform_{role}_golden"
        assert outcome["tasks"][task]["state"] == "success"
        transform = return_value(outcome, task)["Transform"]
        assert transform["ModelName"] == month[role]["model_name"]
        assert (
            transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
            == (golden["features_uri"])
        )
        outputs[role] = transform["TransformOutput"]["S3OutputPath"].rstrip("/")
    evaluated = return_value(outcome, "evaluate_models")["Processing"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluated["ProcessingInputs"]}
    assert inputs["golden_labels"] == golden["labels_uri"]
    for role, uri in outputs.items():
        assert inputs[f"golden_{role}"].rstrip("/") == uri

    report = requests.processing_outputs(evaluated)["evaluation"]
    s3 = local.stack.client("s3")
    written = json.loads(read_text(s3, report + "metrics.json"))["golden"]
    n_golden = len(read_text(s3, golden["labels_uri"]).splitlines())
    assert written["n_items"] == n_golden > 0
    assert written["challenger"]["macro_f1"] > written["champion"]["macro_f1"]
    assert len(read_text(s3, report + "per_item_golden.jsonl").splitlines()) == n_golden
    assert "<h2>Golden set</h2>" in read_text(s3, report + "report.html")

    [decided] = [e for e in month["table"].history(model.key) if e["run_id"] == outcome["run_id"]]
    decision = decided["decision"]
    assert decision["golden_challenger_score"] == written["challenger"]["macro_f1"]
    assert decision["golden_champion_score"] == written["champion"]["macro_f1"]
    assert any(r.startswith("golden set: no significant regression") for r in decision["reasons"])
    assert decided["golden_set_uri"] == golden["uri"]
