"""A person's answer to a promotion (evaluation.approval: human), as compare applies it.

``steps.apply_human_decision`` is pure: the approve task's value (Airflow's human-in-the-loop
answer: ``chosen_options``, ``params_input``, ``responded_by_user``, ``responded_at``) and decide's
``decided`` in, ``decided`` with the person's answer out. The recorded outcome (winners history,
the registry's approval status and description) is checked through ``steps.record_decision``
against moto.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from mlops import steps
from mlops.config import CountriesConfigError, get_model, load_models
from mlops.winners import WinnersRegistry, table_key_schema
from moto import mock_aws

from tests.unit.conftest import DEFAULT_COUNTRIES

REGION = "eu-west-1"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ANSWERED = datetime(2026, 11, 23, 9, 12, 5, tzinfo=UTC)
FR = get_model("fr", DEFAULT_COUNTRIES)
GB = get_model("gb", DEFAULT_COUNTRIES)
TIMEOUT = FR.evaluation.approval_timeout_seconds
RUN = {"run_id": "asset_triggered__2026-11-23", "data_month": "2026-10", "code_version": "abc"}
STARTED = "2026-11-23T08:00:00+00:00"
REPORT = "s3://mlops-local-models/fr/runs/0b74bdb0/evaluate/evaluation/report.html"


def decided(promote: bool = True, package: str = "arn:pkg") -> dict:
    """decide's value: the policy's decision, the candidate, the report."""
    reasons = ["macro_f1 0.8100 ≥ absolute floor 0.6000"]
    reasons.append("gain +0.0300 over champion 0.7800 meets margin 0.0050")
    reasons.append(
        f"McNemar one-sided p=0.0012 on 40 vs 12 discordant items {'<' if promote else '≥'} 0.05"
    )
    return {
        "decision": {
            "promote": promote,
            "reasons": reasons,
            "challenger_score": 0.81,
            "champion_score": 0.78,
            "p_value": 0.0012,
            "discordant": {"challenger_only": 40, "champion_only": 12},
        },
        "candidate": {
            "model_name": "mlops-fr-model-0b74bdb0",
            "model_package_arn": package,
            "data_month": "2026-10",
            "report_uri": REPORT,
            "metrics": {"accuracy": 0.83, "macro_f1": 0.81},
        },
        "report_uri": REPORT,
    }


def answered(option: str, user: str | None = "camille", comment: str = "report checked") -> dict:
    """The approve task's value, as HITLOperator.execute_complete returns it."""
    return {
        "chosen_options": [option],
        "params_input": {"comment": comment},
        "responded_by_user": None if user is None else {"id": user, "name": user},
        "responded_at": ANSWERED,
    }


def apply(decision: dict, answer: dict | None) -> dict:
    return steps.apply_human_decision(decision, answer, now=NOW, timeout_seconds=TIMEOUT)


# ---------------------------------------------------------------- the answer applied (pure)
def test_an_approved_promotion_is_promoted_and_names_who_approved_when():
    result = apply(decided(True), answered("Approve"))
    assert result["decision"]["promote"] is True
    assert result["decision"]["policy_promote"] is True
    assert result["approval"] == {
        "mode": "human",
        "by": "camille",
        "at": ANSWERED.isoformat(),
        "comment": "report checked",
        "answer": "approved",
    }
    assert result["candidate"] == decided(True)["candidate"]  # nothing else changes


def test_a_person_may_reject_a_promotion_the_policy_recommends():
    result = apply(decided(True), answered("Reject", comment="suspicious jump on one class"))
    assert result["decision"]["promote"] is False
    assert result["decision"]["policy_promote"] is True  # the recommendation stays on record
    assert result["decision"]["reasons"] == decided(True)["decision"]["reasons"]
    assert result["approval"]["by"] == "camille"
    assert result["approval"]["answer"] == "rejected"
    assert result["approval"]["comment"] == "suspicious jump on one class"


def test_no_answer_within_the_timeout_rejects_and_says_so():
    # The scheduler's timeout sweep answers the default (Reject) with no responder.
    result = apply(decided(True), answered("Reject", user=None, comment=""))
    assert result["decision"]["promote"] is False
    approval = result["approval"]
    assert (approval["by"], approval["answer"], approval["timed_out"]) == (
        "timeout",
        "rejected",
        True,
    )
    assert approval["at"] == ANSWERED.isoformat()
    assert f"no answer within 3 d ({TIMEOUT} s)" == approval["comment"]


def test_a_timeout_never_promotes_even_if_its_default_were_approve():
    result = apply(decided(True), answered("Approve", user=None))
    assert result["decision"]["promote"] is False
    assert result["approval"]["timed_out"] is True


def test_approving_a_challenger_the_policy_refused_does_not_promote_it():
    result = apply(decided(False), answered("Approve"))
    assert result["decision"]["promote"] is False
    assert result["decision"]["policy_promote"] is False
    assert result["approval"]["answer"] == (
        "approved, but the policy refused the challenger: not promoted"
    )


def test_a_refused_challenger_nobody_was_asked_about_is_the_policys_decision():
    result = apply(decided(False), {"asked": False})
    assert result["decision"]["promote"] is False
    assert result["approval"]["mode"] == "auto" and result["approval"]["by"] == "policy"
    assert "nobody was asked" in result["approval"]["comment"]


def test_a_recommended_promotion_that_asked_nobody_is_an_error():
    with pytest.raises(ValueError, match="asked nobody"):
        apply(decided(True), {"asked": False})


def test_a_human_model_without_an_answer_is_never_recorded():
    with pytest.raises(ValueError, match="no answer from the approve task"):
        apply(decided(True), None)
    with pytest.raises(ValueError, match="no answer from the approve task"):
        steps.apply_approval(FR, decided(True), None, now=NOW)


def test_an_answer_outside_the_options_is_refused():
    with pytest.raises(ValueError, match=r"\['Maybe'\] is not one of"):
        apply(decided(True), answered("Maybe"))
    with pytest.raises(ValueError, match="is not one of"):
        apply(decided(True), {**answered("Approve"), "chosen_options": ["Approve", "Reject"]})


def test_the_responded_at_of_a_json_xcom_and_a_long_comment_are_kept_in_shape():
    answer = answered("Approve", comment="  " + "x" * 900 + "  ")
    answer["responded_at"] = ANSWERED.isoformat()  # a string, as a JSON XCom would give it
    result = apply(decided(True), answer)
    assert result["approval"]["at"] == ANSWERED.isoformat()
    assert result["approval"]["comment"] == "x" * steps.COMMENT_MAX


def test_an_auto_model_records_the_policy_as_its_approver():
    result = steps.apply_approval(GB, decided(True), None, now=NOW)
    assert result["decision"] == decided(True)["decision"]
    assert result["approval"] == {"mode": "auto", "by": "policy", "at": NOW.isoformat()}


def test_an_answer_given_is_applied_even_if_the_model_turned_auto_meanwhile():
    result = steps.apply_approval(GB, decided(True), answered("Reject"), now=NOW)
    assert result["decision"]["promote"] is False
    assert result["approval"]["by"] == "camille"


# ---------------------------------------------------------------- what the person sees
def test_the_request_shows_the_recommendation_its_numbers_reasons_and_report():
    subject, body = steps.approval_request(FR, decided(True), region=REGION)
    assert subject == "FR: promote the challenger trained on 2026-10?"
    assert "Recommendation of the comparison policy: promote" in body
    assert "challenger 0.8100, champion 0.7800" in body
    assert "McNemar one-sided p-value: 0.0012" in body
    for reason in decided(True)["decision"]["reasons"]:
        assert f"- {reason}" in body
    assert f"`{REPORT}`" in body
    assert (
        "https://s3.console.aws.amazon.com/s3/object/mlops-local-models?region=eu-west-1"
        "&prefix=fr/runs/0b74bdb0/evaluate/evaluation/report.html"
    ) in body
    assert f"No answer within 3 d ({TIMEOUT} s) rejects it" in body
    assert "auto_deploy" in body  # fr's endpoint updates by itself once approved


def test_a_first_model_request_says_there_is_no_champion():
    first = decided(True)
    first["decision"] |= {"champion_score": None, "p_value": None}
    _, body = steps.approval_request(FR, first, region=REGION)
    assert "champion none (first model)" in body
    assert "p-value: n/a (no champion)" in body


# ---------------------------------------------------------------- recorded (moto)
@pytest.fixture
def aws(monkeypatch, settings):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        for name in (settings.winners_table, settings.winners_history_table):
            dynamodb.create_table(
                TableName=name, **table_key_schema(), BillingMode="PAY_PER_REQUEST"
            )
        yield sagemaker, dynamodb


def pending_package(sagemaker) -> str:
    sagemaker.create_model_package_group(ModelPackageGroupName="mlops-fr")
    return sagemaker.create_model_package(
        ModelPackageGroupName="mlops-fr",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/i:1"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def record(aws, settings, result: dict) -> tuple[dict, dict]:
    """compare's write of ``result``: (the winners history item, the package as described)."""
    sagemaker, dynamodb = aws
    steps.record_decision(
        sagemaker,
        dynamodb,
        settings,
        FR,
        run=RUN,
        run_started_at=STARTED,
        challenger={"model_package_arn": result["candidate"]["model_package_arn"]},
        champion=None,
        decided=result,
        decided_at=NOW.isoformat(),
    )
    (item,) = WinnersRegistry(dynamodb.Table(settings.winners_table)).history("fr")
    package = sagemaker.describe_model_package(
        ModelPackageName=result["candidate"]["model_package_arn"]
    )
    return item, package


def test_an_approval_is_in_the_winners_history_and_the_approval_description(aws, settings):
    arn = pending_package(aws[0])
    item, package = record(aws, settings, apply(decided(True, arn), answered("Approve")))
    assert item["outcome"] == "promoted"
    assert item["decision"]["approval"]["by"] == "camille"
    assert item["decision"]["approval"]["at"] == ANSWERED.isoformat()
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"].endswith(
        f"human approval: approved by camille at {ANSWERED.isoformat()}: report checked"
    )


def test_a_rejected_promotion_keeps_the_champion_and_rejects_the_package(aws, settings):
    arn = pending_package(aws[0])
    result = apply(decided(True, arn), answered("Reject", comment="not this month"))
    item, package = record(aws, settings, result)
    assert item["outcome"] == "kept_champion"
    assert item["decision"]["policy_promote"] is True
    assert package["ModelApprovalStatus"] == "Rejected"
    assert "human approval: rejected by camille" in package["ApprovalDescription"]
    _, dynamodb = aws
    assert WinnersRegistry(dynamodb.Table(settings.winners_table)).current("fr") is None


def test_a_timeout_is_recorded_as_a_rejection_by_timeout(aws, settings):
    arn = pending_package(aws[0])
    item, package = record(aws, settings, apply(decided(True, arn), answered("Reject", None)))
    assert item["outcome"] == "kept_champion"
    assert item["decision"]["approval"]["timed_out"] is True
    assert package["ModelApprovalStatus"] == "Rejected"
    assert (
        f"human approval: rejected by timeout at {ANSWERED.isoformat()}"
        in (package["ApprovalDescription"])
    )


# ---------------------------------------------------------------- the countries file
def test_approval_is_auto_unless_a_country_asks_for_a_person(tmp_path):
    path = tmp_path / "countries.yaml"
    path.write_text(
        "countries:\n"
        "  - {code: nl, code_table_version: v1}\n"
        "  - code: be\n"
        "    code_table_version: v1\n"
        "    evaluation: {approval: human, approval_timeout_seconds: 3600}\n"
        "    schemes: {batteries: {code_table_version: v1}}\n"
    )
    approvals = {m.key: m.evaluation.approval for m in load_models(path)}
    assert approvals == {"nl": "auto", "be": "human", "be-batteries": "human"}
    assert get_model("be-batteries", path).evaluation.approval_timeout_seconds == 3600
    assert get_model("nl", path).evaluation.approval_timeout_seconds == 3 * 24 * 3600


@pytest.mark.parametrize(
    ("evaluation", "field"),
    [
        ("{approval: manual}", "evaluation.approval"),
        ("{approval: human, approval_timeout_seconds: 5}", "evaluation.approval_timeout_seconds"),
        ("{approval_timeout_seconds: 9999999}", "evaluation.approval_timeout_seconds"),
    ],
)
def test_a_bad_approval_setting_names_the_country_and_field(tmp_path, evaluation, field):
    path = tmp_path / "countries.yaml"
    path.write_text(
        f"countries:\n  - {{code: nl, code_table_version: v1, evaluation: {evaluation}}}\n"
    )
    with pytest.raises(CountriesConfigError, match=rf"country 'nl', field '{field}'"):
        load_models(path)
