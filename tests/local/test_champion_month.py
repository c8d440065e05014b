"""The month in which a champion exists, step by step on the local stack: the real step functions
(mlops.steps), the stack's SageMaker registry and processing jobs (the real ``evaluate`` image
code), moto's S3 and DynamoDB, and the evaluate and deploy DAGs' own setup tasks.

Transform output is written by the test (small JSON Lines answers, the inference image's shape)
at the paths the transform requests name: what matters here is what the evaluate job and compare
make of the champion's answers, not how a model produced them (tests/e2e runs real transforms).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from mlops import sagemaker_requests as requests
from mlops import steps
from mlops.config import get_model
from mlops.model_registry import ModelRegistryError, set_approval
from mlops.settings import parse_settings
from mlops.winners import CURRENT, WinnersRegistry

from local.provision import load_local_settings, provision
from tests.support.local_stack import assert_valid_output, read_text, wait_for
from tests.unit.conftest import DEFAULT_COUNTRIES

COUNTRY = "gb"
MONTH = "2026-10"
STARTED = "2026-11-22T03:23:27+00:00"
LABELS = [f"UK-{n}" for n in range(1, 5)]
ITEMS = [(f"item-{n:03d}", LABELS[n % len(LABELS)]) for n in range(100)]
# The model's golden set (its features do not matter here: the transforms' answers are written).
GOLDEN_ITEMS = [(f"golden-{n:03d}", LABELS[n % len(LABELS)]) for n in range(80)]


@pytest.fixture(scope="module")
def project(stack):
    """The session stack provisioned as the DAGs expect it, and the gb model."""
    settings_dict = provision(stack.client, load_local_settings())
    settings, model = parse_settings(settings_dict), get_model(COUNTRY, DEFAULT_COUNTRIES)
    golden = requests.golden_set_uris(settings, model, model.code_table_version)
    put_lines(stack.client("s3"), golden["features_uri"], [{"item_id": i} for i, _ in GOLDEN_ITEMS])
    put_lines(
        stack.client("s3"),
        golden["labels_uri"],
        [{"item_id": item, "label": label} for item, label in GOLDEN_ITEMS],
    )
    return {
        "settings_dict": settings_dict,
        "settings": settings,
        "model": model,
        "golden": golden,
        "sagemaker": stack.client("sagemaker"),
        "s3": stack.client("s3"),
        "dynamodb": boto3.resource(
            "dynamodb",
            endpoint_url=stack.endpoint_url,
            region_name=stack.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ),
    }


def winners(project) -> WinnersRegistry:
    return WinnersRegistry(project["dynamodb"].Table(project["settings"].winners_table))


def register(project, name: str, status: str | None = None) -> dict:
    """A model version registered by the train step (PendingManualApproval), then ``status``."""
    settings, model = project["settings"], project["model"]
    run_id = f"manual__{name}"
    plan = steps.plan_training(
        settings, model, run_id=run_id, data_month=MONTH, dynamodb=project["dynamodb"]
    )
    training = {
        "TrainingJobName": f"{name}-train",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{settings.model_bucket}/{name}/model.tar.gz"},
        "FinalMetricDataList": [{"MetricName": "validation:macro_f1", "Value": 0.9}],
    }
    challenger = steps.register_challenger(
        project["sagemaker"],
        settings,
        model,
        plan["run"],
        {"Processing": plan["prepare_request"]},
        {"Training": training},
        {"Model": {"ModelName": name}},
    ).value
    if status in ("Approved", "Rejected"):
        arn = challenger["model_package_arn"]
        set_approval(project["sagemaker"], arn, status == "Approved", [])
    return challenger


def crown(project, champion: dict) -> None:
    """Make ``champion`` the model's winner, as an earlier month's evaluation would have."""
    table = winners(project)
    table.table.delete_item(Key={"pk": COUNTRY, "sk": CURRENT})
    table.record(
        model_key=COUNTRY,
        candidate={
            "model_name": champion["model_name"],
            "model_package_arn": champion["model_package_arn"],
            "data_month": "2026-09",
        },
        decision={"promote": True},
        run_id=f"scheduled__{champion['model_name']}",
        run_started_at="2026-10-22T03:00:00+00:00",
        decided_at=datetime.now(UTC).isoformat(),
        expected_version=None,
    )


def put_lines(s3, uri: str, records: list[dict]) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body="".join(json.dumps(r) + "\n" for r in records))


def answers(wrong: set[int], items: list[tuple[str, str]] = ITEMS) -> list[dict]:
    """The inference image's answer per test item; the items at ``wrong`` get a wrong label."""
    return [
        {
            "item_id": item,
            "label": LABELS[(LABELS.index(label) + 1) % len(LABELS)] if n in wrong else label,
            "confidence": 0.9,
        }
        for n, (item, label) in enumerate(items)
    ]


def transform_output(request: dict) -> dict:
    """The transform operator's XCom for ``request`` (its TransformOutput as described)."""
    return {"Transform": {"TransformOutput": request["TransformOutput"]}}


def evaluate_month(
    project,
    name: str,
    challenger_wrong: set[int],
    champion_wrong: set[int],
    golden_wrong: dict[str, set[int]] | None = None,
):
    """A champion month: plan, transforms' answers (``golden_wrong``: the golden items each model
    gets wrong; none by default), the real evaluate job, then compare."""
    settings, model = project["settings"], project["model"]
    champion = register(project, f"{name}-champion", "Approved")
    crown(project, champion)
    challenger = register(project, f"{name}-challenger")
    put_lines(
        project["s3"],
        challenger["test_labels_uri"] + "labels.jsonl",
        [{"item_id": item, "label": label} for item, label in ITEMS],
    )
    plan = steps.plan_evaluation(
        project["sagemaker"],
        project["dynamodb"],
        settings,
        model,
        s3=project["s3"],
        run_id=f"manual__{name}",
        run_started_at=STARTED,
        package_arn=challenger["model_package_arn"],
    )
    results = {}
    for role, wrong in (("challenger", challenger_wrong), ("champion", champion_wrong)):
        request = plan[f"{role}_transform_request"]
        put_lines(
            project["s3"],
            request["TransformOutput"]["S3OutputPath"] + "/features.jsonl.out",
            answers(wrong),
        )
        results[role] = transform_output(request)
        request = plan[f"{role}_golden_transform_request"]
        put_lines(
            project["s3"],
            request["TransformOutput"]["S3OutputPath"] + "/features.jsonl.out",
            answers((golden_wrong or {}).get(role, set()), GOLDEN_ITEMS),
        )
        results[f"{role}_golden"] = transform_output(request)
    evaluation = steps.evaluation_request_after_transforms(
        settings,
        model,
        plan["run"],
        plan["challenger"],
        results["challenger"],
        results["champion"],
        golden=plan["golden"],
        challenger_golden_result=results["challenger_golden"],
        champion_golden_result=results["champion_golden"],
    )
    sagemaker = project["sagemaker"]
    sagemaker.create_processing_job(**evaluation)
    described = wait_for(
        lambda: sagemaker.describe_processing_job(
            ProcessingJobName=evaluation["ProcessingJobName"]
        ),
        "ProcessingJobStatus",
        timeout=240,
    )
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    report = requests.processing_outputs(described)["evaluation"]
    written = json.loads(read_text(project["s3"], report + "metrics.json"))
    outcome = steps.compare(
        project["s3"],
        sagemaker,
        project["dynamodb"],
        settings,
        model,
        run=plan["run"],
        run_started_at=STARTED,
        challenger=plan["challenger"],
        champion=plan["champion"],
        evaluated={"Processing": described},
    )
    return {
        "plan": plan,
        "champion": champion,
        "challenger": challenger,
        "described": described,
        "results": results,
        "written": written,
        "outcome": outcome,
    }


def approval(project, arn: str) -> str:
    return project["sagemaker"].describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]


def history_of(project, run_id: str) -> dict:
    [entry] = [e for e in winners(project).history(COUNTRY) if e["run_id"] == run_id]
    return entry


# ---------------------------------------------------------------- evaluate with a champion
def test_a_stronger_champion_is_kept_on_its_own_numbers(project):
    # Champion right on every item; challenger wrong on 15 (above the 0.6 floor).
    month = evaluate_month(project, "stronger-champion", set(range(0, 100, 7)), set())
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in month["described"]["ProcessingInputs"]}
    champion_output = month["results"]["champion"]["Transform"]["TransformOutput"]["S3OutputPath"]
    assert inputs["champion"].rstrip("/") == champion_output.rstrip("/")
    written = month["written"]
    assert written["champion"]["macro_f1"] > written["challenger"]["macro_f1"]
    outcome = month["outcome"]
    assert outcome.value["outcome"] == "kept_champion"
    assert outcome.metrics["champion_macro_f1"] == written["champion"]["macro_f1"]
    assert outcome.metrics["challenger_macro_f1"] == written["challenger"]["macro_f1"]
    assert f"over champion {written['champion']['macro_f1']:.4f}" in outcome.metrics["reasons"]
    assert approval(project, month["challenger"]["model_package_arn"]) == "Rejected"
    assert (
        winners(project).current(COUNTRY)["model_package_arn"]
        == (month["champion"]["model_package_arn"])
    )
    recorded = history_of(project, month["plan"]["run"]["run_id"])["decision"]
    assert recorded["champion_score"] == written["champion"]["macro_f1"]


def test_a_clearly_better_challenger_replaces_the_champion(project):
    # Challenger right on every item; the champion wrong on 30: 30 discordant pairs, all its.
    month = evaluate_month(project, "better-challenger", set(), set(range(0, 90, 3)))
    written, outcome = month["written"], month["outcome"]
    assert written["challenger"]["macro_f1"] > written["champion"]["macro_f1"]
    assert outcome.value["outcome"] == "promoted", outcome.metrics["reasons"]
    assert outcome.metrics["champion_macro_f1"] == written["champion"]["macro_f1"]
    assert approval(project, month["challenger"]["model_package_arn"]) == "Approved"
    current = winners(project).current(COUNTRY)
    assert current["model_package_arn"] == month["challenger"]["model_package_arn"]
    assert current["version"] == 2
    decision = history_of(project, month["plan"]["run"]["run_id"])["decision"]
    assert decision["discordant"] == {"challenger_only": 30, "champion_only": 0}


def test_a_gain_the_paired_items_do_not_support_keeps_the_champion(project):
    # Both wrong on 5 items; the challenger alone right on 5, the champion alone on 2: a macro-F1
    # gain well above the margin, but McNemar p = P(X >= 5 | 7 discordant) = 29/128.
    both_wrong = {0, 1, 2, 3, 4}
    month = evaluate_month(
        project,
        "unsupported-gain",
        both_wrong | {10, 11},
        both_wrong | {20, 21, 22, 23, 24},
    )
    written, outcome = month["written"], month["outcome"]
    policy = project["model"].evaluation
    assert written["challenger"]["macro_f1"] - written["champion"]["macro_f1"] > policy.margin
    assert outcome.value["outcome"] == "kept_champion", outcome.metrics["reasons"]
    assert abs(outcome.metrics["p_value"] - 29 / 128) < 1e-9
    decision = history_of(project, month["plan"]["run"]["run_id"])["decision"]
    assert decision["discordant"] == {"challenger_only": 5, "champion_only": 2}
    assert approval(project, month["challenger"]["model_package_arn"]) == "Rejected"


def test_a_challenger_the_month_calls_better_is_kept_out_by_a_golden_regression(project):
    # The month's test set: challenger right on every item, the champion wrong on 30 (it would
    # promote). The golden set: the challenger wrong on 24 items the champion gets right.
    month = evaluate_month(
        project,
        "golden-regression",
        set(),
        set(range(0, 90, 3)),
        golden_wrong={"challenger": set(range(0, 72, 3)), "champion": set()},
    )
    written, outcome = month["written"], month["outcome"]
    assert written["challenger"]["macro_f1"] > written["champion"]["macro_f1"]
    golden = written["golden"]
    assert golden["n_items"] == len(GOLDEN_ITEMS)
    assert golden["challenger"]["macro_f1"] < golden["champion"]["macro_f1"] == 1.0
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in month["described"]["ProcessingInputs"]}
    assert inputs["golden_labels"] == project["golden"]["labels_uri"]
    assert outcome.value["outcome"] == "kept_champion", outcome.metrics["reasons"]
    assert "golden set: significant regression against the champion" in outcome.metrics["reasons"]
    assert "on 24 champion-only vs 0 challenger-only items" in outcome.metrics["reasons"]
    assert approval(project, month["challenger"]["model_package_arn"]) == "Rejected"
    assert (
        winners(project).current(COUNTRY)["model_package_arn"]
        == month["champion"]["model_package_arn"]
    )
    decision = history_of(project, month["plan"]["run"]["run_id"])["decision"]
    assert decision["golden_discordant"] == {"challenger_only": 0, "champion_only": 24}
    assert decision["golden_champion_score"] == 1.0


# ---------------------------------------------------------------- the DAGs' setup tasks
@pytest.fixture(scope="module")
def dags(project, stack, tmp_path_factory):
    """The evaluate and deploy DAGs as parsed from dags/, their tasks wired to the stack."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        patch.setenv("AIRFLOW_VAR_MLOPS_SETTINGS", json.dumps(project["settings_dict"]))
        patch.setenv(
            "AIRFLOW_CONN_AWS_DEFAULT",
            json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {"endpoint_url": stack.endpoint_url, "region_name": stack.region},
                }
            ),
        )
        for name, value in stack.environ().items():
            patch.setenv(name, value)
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(str(Path(__file__).resolve().parents[2] / "dags"))
        assert not bag.import_errors, bag.import_errors
        yield bag


def challenger_event(project, extra: dict):
    """The triggering asset events of a run the model's challenger asset scheduled, as the Task
    SDK hands them to a task (``context["triggering_asset_events"]``)."""
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
    from mlops.dag_factory import challenger_asset

    asset = challenger_asset(project["model"])
    event = AssetEventDagRunReferenceResult(
        asset={"name": asset.name, "uri": asset.uri, "extra": {}},
        extra=extra,
        source_task_id="register_model_version",
        source_dag_id=project["model"].dag_id("train"),
        source_run_id="scheduled__2026-11-02T04:00:00+00:00",
        source_map_index=-1,
        source_aliases=[],
        timestamp=datetime.now(UTC),
    )
    return TriggeringAssetEventsAccessor.build([event])


def test_evaluate_takes_the_triggering_events_package_not_the_newest_pending(project, dags):
    champion = register(project, "event-champion", "Approved")
    crown(project, champion)
    evented = register(project, "event-challenger")
    newer = register(project, "event-newer")  # registered later: the newest PendingManualApproval
    build = dags.dags[project["model"].dag_id("evaluate")].get_task("build_requests")
    plan = build.python_callable(
        params={"model_package_arn": ""},
        run_id="asset_triggered__2026-11-02T04:10:00+00:00",
        triggering_asset_events=challenger_event(project, evented),
    )
    assert plan["challenger"]["model_package_arn"] == evented["model_package_arn"]
    assert plan["challenger"]["model_package_arn"] != newer["model_package_arn"]
    assert plan["challenger_transform_request"]["ModelName"] == "event-challenger"
    assert plan["champion"]["model_package_arn"] == champion["model_package_arn"]
    assert plan["champion_transform_request"]["ModelName"] == "event-champion"


def test_the_evaluate_dag_fails_before_any_transform_without_the_golden_set(project, dags):
    challenger = register(project, "no-golden-challenger")
    golden = project["golden"]
    s3 = project["s3"]
    saved = {name: read_text(s3, golden[name]) for name in ("features_uri", "labels_uri")}
    bucket, _, key = golden["labels_uri"].removeprefix("s3://").partition("/")
    s3.delete_object(Bucket=bucket, Key=key)
    build = dags.dags[project["model"].dag_id("evaluate")].get_task("build_requests")
    try:
        with pytest.raises(steps.GoldenSetError) as refused:
            build.python_callable(
                params={"model_package_arn": challenger["model_package_arn"]},
                run_id="manual__no-golden",
            )
    finally:
        for name, text in saved.items():
            bucket, _, key = golden[name].removeprefix("s3://").partition("/")
            s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    message = str(refused.value)
    version = project["model"].code_table_version
    assert f"evaluate__gb: no golden set for model gb, code table {version}" in message
    assert f"{golden['labels_uri']} (not found)" in message
    assert golden["features_uri"] + " (" not in message


# ---------------------------------------------------------------- deploy only what is Approved
def plan_deployment(project, **kwargs):
    return steps.plan_deployment(
        project["sagemaker"],
        project["dynamodb"],
        project["settings"],
        project["model"],
        run_id="manual__deploy",
        **kwargs,
    )


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_deploy_refuses_a_param_package_that_is_not_approved(project, status):
    package = register(project, f"param-{status.lower()}", status)
    arn = package["model_package_arn"]
    assert approval(project, arn) == status
    with pytest.raises(ModelRegistryError) as refused:
        plan_deployment(project, package_arn=arn)
    assert f"deploy__gb: model package {arn} (the model_package_arn param) is {status}" in str(
        refused.value
    )


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_deploy_refuses_a_winner_whose_package_is_not_approved(project, status):
    winner = register(project, f"winner-{status.lower()}", "Approved")
    crown(project, winner)
    approved = plan_deployment(project)  # the winner as evaluate left it: Approved, deployable
    assert approved["model_name"] == winner["model_name"]
    arn = winner["model_package_arn"]
    if status == "Rejected":
        set_approval(project["sagemaker"], arn, False, ["rejected after review"])
    else:
        project["sagemaker"].update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval"
        )
    with pytest.raises(ModelRegistryError) as refused:
        plan_deployment(project)
    table = project["settings"].winners_table
    assert (
        f"deploy__gb: model package {arn} (the winner of gb in table {table}) is {status}"
        in str(refused.value)
    )


def test_the_deploy_dag_refuses_a_winner_that_is_not_approved(project, dags):
    winner = register(project, "dag-winner-rejected", "Rejected")
    crown(project, winner)
    build = dags.dags[project["model"].dag_id("deploy")].get_task("build_requests")
    with pytest.raises(ModelRegistryError, match=f"{winner['model_package_arn']} .* is Rejected"):
        build.python_callable(params={"model_package_arn": ""}, run_id="manual__deploy-dag")


# ---- the evaluated version in the registry: ModelMetrics at registration (the training-data
# profile) and its evaluation's report and metrics (CustomerMetadataProperties, through
# UpdateModelPackage); the report the job wrote gets the decision header on the Airflow side.
# Here, not in a module of its own: a module-scoped ``project`` imported elsewhere would
# provision the shared session stack a second time.
def test_the_evaluated_version_carries_its_profile_report_and_metrics(project):
    month = evaluate_month(project, "report-registry", set(), set(range(0, 90, 3)))
    sagemaker, s3 = project["sagemaker"], project["s3"]
    outcome = month["outcome"]
    assert outcome.value["outcome"] == "promoted", outcome.metrics["reasons"]

    described = sagemaker.describe_model_package(
        ModelPackageName=month["challenger"]["model_package_arn"]
    )
    assert_valid_output("DescribeModelPackage", described)
    statistics = described["ModelMetrics"]["ModelDataQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"].endswith("/prepare/profile/profile.json")

    metadata = described["CustomerMetadataProperties"]
    assert metadata["evaluation_report_uri"] == outcome.value["report_uri"]
    assert metadata["evaluation_report_uri"] == outcome.metrics["report_uri"]
    assert json.loads(read_text(s3, metadata["evaluation_metrics_uri"])) == month["written"]
    decision = json.loads(read_text(s3, metadata["evaluation_decision_uri"]))
    assert decision["decision"]["promote"] is True
    assert metadata["data_month"] == "2026-10"  # the registration's metadata is kept

    html = read_text(s3, metadata["evaluation_report_uri"])
    header = html.split("<!-- mlops:header:begin -->", 1)[1].split("<!-- mlops:header:end -->")[0]
    assert "Evaluation — GB — default scheme" in header
    assert "<th>challenger data month</th><td>2026-10</td>" in header
    assert "<th>champion data month</th><td>2026-09</td>" in header
    assert "Automatic decision: <b>promote the challenger</b>" in header
    assert "McNemar p-value (test set)" in header and "McNemar one-sided p=" in header
    assert "true label" in html and "predicted label" in html
