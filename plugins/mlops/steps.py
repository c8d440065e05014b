"""The body of every DAG task: one function per task, plain values and clients in, plain values out.

No Airflow in here: a DAG file's task unpacks its context (params, run id, triggering asset
events) and calls one function, passing the ``Model`` its DAG was built for, the settings, and
boto3 clients (``sagemaker``, ``s3``, ``sagemaker-runtime``, a ``dynamodb`` resource); tests call
the same functions with moto's. ``run`` is the run identity as it flows through XCom
(``RunIdentity.as_dict()``); ``prepared``, ``tuned``, ``trained``, ``created``, ``evaluated``...
are the provider operators' XCom results (``{"Processing": <describe>}`` and so on).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mlops import sagemaker_requests as requests
from mlops.comparison import Policy, decide
from mlops.config import Model
from mlops.deployment import check_serves_new_config, smoke_prediction
from mlops.events import landing_from_events
from mlops.model_registry import (
    APPROVED,
    PENDING,
    ModelRegistryError,
    approval_status,
    describe_candidate,
    newest_pending_package,
    register_model_version,
    set_approval,
    version_for_month,
)
from mlops.naming import RunIdentity, model_package_group_name
from mlops.settings import Settings
from mlops.winners import WinnersRegistry

XCom = Mapping[str, Any]
LOST_RACE_REASON = "a newer or concurrent evaluation changed the winner first"


@dataclass(frozen=True)
class Reported:
    """A step's result and the numbers its success notification shows."""

    value: dict[str, Any]
    metrics: dict[str, Any]


def _identity(run: XCom) -> RunIdentity:
    return RunIdentity(
        run_id=run["run_id"], data_month=run["data_month"], code_version=run["code_version"]
    )


def _winners(dynamodb: Any, settings: Settings) -> WinnersRegistry:
    return WinnersRegistry(dynamodb.Table(settings.winners_table))


def read_s3_text(s3: Any, uri: str) -> str:
    """The text of the object at ``s3://bucket/key``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


# ---------------------------------------------------------------- which month a run is for
@dataclass(frozen=True)
class RunMonth:
    """The month a train or batch run works on, or why it does nothing (``month`` None).

    ``ignored``: what the triggering events held that is not one of the model's markers (logged
    as a warning, never silently dropped).
    """

    month: str | None
    reason: str
    ignored: tuple[str, ...] = ()


def run_month(
    model: Model,
    data_kind: str,
    bucket: str,
    *,
    param: str,
    extras: Sequence[Mapping[str, Any]],
    fallback: str,
) -> RunMonth:
    """The ``data_month`` param (a person asked), else the newest month the triggering landing
    events announce, else (cron fallback, a run without events) ``fallback``."""
    if param:
        return RunMonth(param, f"data_month param {param}")
    if not extras:
        return RunMonth(fallback, f"no param and no landing event: the previous month {fallback}")
    landing = landing_from_events(model, data_kind, bucket, extras)
    if landing.month is None:
        return RunMonth(
            None,
            f"the triggering events hold no {data_kind} marker of {model.key} "
            f"({'; '.join(landing.ignored) or 'no S3 records'})",
            landing.ignored,
        )
    older = [m for m in landing.months if m != landing.month]
    reason = f"{data_kind} marker of {landing.month}"
    if older:
        reason += f" (also landed: {', '.join(older)}; the newest month is the one used)"
    return RunMonth(landing.month, reason, landing.ignored)


def training_month(sagemaker: Any, settings: Settings, model: Model, chosen: RunMonth) -> RunMonth:
    """``chosen``, unless the month is trained already. For runs nobody asked for (an event, the
    cron fallback): a duplicate or replayed marker event never trains a month twice."""
    if chosen.month is None:
        return chosen
    group = model_package_group_name(settings.name_prefix, model.key)
    existing = version_for_month(sagemaker, group, chosen.month)
    if existing:
        return RunMonth(
            None,
            f"{chosen.month} is trained already ({existing}); set data_month to train it again",
            chosen.ignored,
        )
    return chosen


def batch_month(s3: Any, settings: Settings, model: Model, chosen: RunMonth) -> RunMonth:
    """``chosen``, unless the month's predictions are written already. For runs nobody asked
    for (an event, the cron fallback)."""
    if chosen.month is None:
        return chosen
    prefix = f"{model.prefix}/{chosen.month}/predictions/"
    found = s3.list_objects_v2(Bucket=settings.data_bucket, Prefix=prefix, MaxKeys=1)
    if found.get("KeyCount", 0):
        return RunMonth(
            None,
            f"{chosen.month} is scored already (s3://{settings.data_bucket}/{prefix}); "
            "set data_month to score it again",
            chosen.ignored,
        )
    return chosen


# ---------------------------------------------------------------- train
def plan_training(
    settings: Settings, model: Model, *, run_id: str, data_month: str
) -> dict[str, Any]:
    """The run identity and the prepare request of a training run for ``data_month``."""
    run = RunIdentity(run_id=run_id, data_month=data_month, code_version=settings.code_version)
    return {"run": run.as_dict(), "prepare_request": requests.prepare_request(settings, model, run)}


def tuning_request_after_prepare(
    settings: Settings,
    model: Model,
    run: XCom,
    prepared: XCom,
    *,
    hyperparameters: Mapping[str, str] | None = None,
) -> dict[str, Any] | None:
    """The tuning request over the splits the prepare job wrote; None (no tuning) when the run
    gives its ``hyperparameters``."""
    if hyperparameters is not None:
        return None
    outputs = requests.processing_outputs(prepared["Processing"])
    return requests.tuning_request(
        settings, model, _identity(run), outputs["train"], outputs["validation"]
    )


def training_request_after_tuning(
    settings: Settings,
    model: Model,
    run: XCom,
    prepared: XCom,
    tuned: XCom | None,
    *,
    hyperparameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The final training request, with the tuning job's best hyperparameters, or the run's
    given ``hyperparameters`` (then there was no tuning job)."""
    outputs = requests.processing_outputs(prepared["Processing"])
    if hyperparameters is not None:
        chosen = dict(hyperparameters)
    elif tuned is None:
        raise ValueError(f"{model.dag_id('train')}: no tuning result and no hyperparameters given")
    else:
        chosen = requests.best_hyperparameters(tuned["Tuning"])
    return requests.training_request(
        settings,
        model,
        _identity(run),
        outputs["train"],
        outputs["validation"],
        chosen,
    )


def model_request_after_training(
    settings: Settings, model: Model, run: XCom, trained: XCom
) -> dict[str, Any]:
    """The CreateModel request serving the final training job's artifacts."""
    artifacts = trained["Training"]["ModelArtifacts"]["S3ModelArtifacts"]
    return requests.model_request(settings, model, _identity(run), artifacts)


def final_metrics(training: XCom) -> dict[str, float]:
    """Metric name → value from a DescribeTrainingJob's FinalMetricDataList."""
    return {
        item["MetricName"]: float(item["Value"])
        for item in training.get("FinalMetricDataList") or []
    }


def register_challenger(
    sagemaker: Any,
    settings: Settings,
    model: Model,
    run: XCom,
    prepared: XCom,
    trained: XCom,
    created: XCom,
) -> Reported:
    """Register the trained model as a PendingManualApproval version: the challenger.

    The value is the challenger asset event's extra: what evaluate needs to find the version.
    """
    training = trained["Training"]
    outputs = requests.processing_outputs(prepared["Processing"])
    metrics = final_metrics(training)
    model_name = created["Model"]["ModelName"]
    request = requests.model_package_request(
        settings,
        model,
        _identity(run),
        model_data_url=training["ModelArtifacts"]["S3ModelArtifacts"],
        model_name=model_name,
        training_job_name=training["TrainingJobName"],
        test_features_uri=outputs["test_features"],
        test_labels_uri=outputs["test_labels"],
        metrics=metrics,
    )
    package_arn = register_model_version(sagemaker, request)
    challenger = {
        "country": model.country,
        "model_key": model.key,
        "model_package_arn": package_arn,
        "model_name": model_name,
        "data_month": run["data_month"],
        "test_features_uri": outputs["test_features"],
        "test_labels_uri": outputs["test_labels"],
        "training_job_name": training["TrainingJobName"],
    }
    return Reported(
        challenger,
        {"model_package_arn": package_arn, "data_month": run["data_month"]} | metrics,
    )


# ---------------------------------------------------------------- evaluate
def plan_evaluation(
    sagemaker: Any,
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    run_id: str,
    run_started_at: str,
    package_arn: str = "",
    champion_package_arn: str = "",
    triggering_extras: Sequence[XCom] = (),
) -> dict[str, Any]:
    """Resolve challenger and champion and build the transform request of each.

    The challenger: ``package_arn`` (the param), else the newest triggering challenger asset
    event's package, else the newest PendingManualApproval version of the model's group. The
    champion: the model's current winner (None on the first run: no champion transform), or the
    version ``champion_package_arn`` (the param) names; the winners table write stays conditional
    on the current winner either way.
    """
    source = "the model_package_arn param"
    if not package_arn and triggering_extras:
        # The DAG is scheduled on this model's challenger asset only: any event is its.
        package_arn = str(triggering_extras[-1].get("model_package_arn", ""))
        source = "the triggering challenger event"
    if not package_arn:
        group = model_package_group_name(settings.name_prefix, model.key)
        package_arn = newest_pending_package(sagemaker, group)
        source = f"the newest {PENDING} version of {group}"
    challenger = describe_candidate(sagemaker, package_arn)
    champion = _winners(dynamodb, settings).current(model.key)
    if champion_package_arn:
        if champion_package_arn == package_arn:
            raise ModelRegistryError(
                f"{model.dag_id('evaluate')}: champion_package_arn is the challenger itself "
                f"({package_arn})"
            )
        override = describe_candidate(sagemaker, champion_package_arn)
        champion = {**override, "version": champion["version"] if champion else None}
    run = RunIdentity(
        run_id=run_id, data_month=challenger["data_month"], code_version=settings.code_version
    )

    def transform(role: str, model_name: str) -> dict[str, Any]:
        return requests.evaluation_transform_request(
            settings,
            model,
            run,
            role=role,
            model_name=model_name,
            test_features_uri=challenger["test_features_uri"],
        )

    return {
        "run": run.as_dict(),
        "run_started_at": run_started_at,
        "challenger": challenger,
        "challenger_from": source,
        "champion": champion,
        "challenger_transform_request": transform("challenger", challenger["model_name"]),
        "champion_transform_request": transform("champion", champion["model_name"])
        if champion
        else None,
    }


def _transform_output(result: XCom) -> str:
    return str(result["Transform"]["TransformOutput"]["S3OutputPath"])


def evaluation_request_after_transforms(
    settings: Settings,
    model: Model,
    run: XCom,
    challenger: XCom,
    challenger_result: XCom,
    champion_result: XCom | None,
) -> dict[str, Any]:
    """The evaluate processing request over the transforms' outputs (champion's if it ran)."""
    return requests.evaluate_request(
        settings,
        model,
        _identity(run),
        challenger_output_uri=_transform_output(challenger_result),
        champion_output_uri=_transform_output(champion_result) if champion_result else None,
        test_labels_uri=challenger["test_labels_uri"],
    )


def decide_evaluation(
    s3: Any,
    model: Model,
    *,
    challenger: XCom,
    champion: XCom | None,
    evaluated: XCom,
) -> dict[str, Any]:
    """The automatic decision from the evaluation's outputs; writes nothing.

    Reads metrics.json and per_item.jsonl the evaluate job wrote and decides
    (``comparison.decide``). The value (``decided``) is what ``record_decision`` records:
    ``decision`` (``Decision.as_dict()``), ``candidate`` (the winners-table fields of the
    challenger) and ``report_uri``.
    """
    report_uri = requests.processing_outputs(evaluated["Processing"])["evaluation"]
    metrics = json.loads(read_s3_text(s3, report_uri + "metrics.json"))
    per_item = [
        json.loads(line)
        for line in read_s3_text(s3, report_uri + "per_item.jsonl").splitlines()
        if line.strip()
    ]
    decision = decide(
        metrics["challenger"],
        metrics.get("champion") if champion else None,
        per_item,
        Policy.from_evaluation(model.evaluation),
    )
    candidate = {
        "model_name": challenger["model_name"],
        "model_package_arn": challenger["model_package_arn"],
        "data_month": challenger["data_month"],
        "test_set_uri": challenger["test_features_uri"],
        "image_digest": challenger.get("image_digest", ""),
        "report_uri": report_uri + "report.html",
        # The challenger's training-data profile (prepare's profile.json): the reference the
        # next month's data gates and the batch drift compare against once it is the winner.
        "profile_uri": challenger.get("profile_uri", ""),
        "metrics": {key: metrics["challenger"][key] for key in ("accuracy", "macro_f1")},
    }
    return {
        "decision": decision.as_dict(),
        "candidate": candidate,
        "report_uri": report_uri + "report.html",
    }


def record_decision(
    sagemaker: Any,
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    run: XCom,
    run_started_at: str,
    challenger: XCom,
    champion: XCom | None,
    decided: XCom,
    decided_at: str | None = None,
) -> Reported:
    """Record ``decided`` (``decide_evaluation``'s value) and approve or reject the version.

    The winners table write is conditional: a lost race keeps the stored winner and says so.
    ``decided`` may carry ``approval`` (who decided, when, how: a person's answer replaces the
    automatic ``decision["promote"]``); it is recorded with the decision.
    """
    decision = dict(decided["decision"])
    candidate = dict(decided["candidate"])
    approval = decided.get("approval")
    if approval:
        decision["approval"] = dict(approval)
    result = _winners(dynamodb, settings).record(
        model_key=model.key,
        candidate=candidate,
        decision=decision,
        run_id=run["run_id"],
        run_started_at=run_started_at,
        decided_at=decided_at or datetime.now(UTC).isoformat(),
        expected_version=champion["version"] if champion else None,
    )
    reasons = list(decision["reasons"])
    if approval:
        reasons.append(approval_reason(approval))
    package_arn = challenger["model_package_arn"]
    same_package_won = False
    if result.outcome == "lost_race":
        reasons.append(LOST_RACE_REASON)
        # Two evaluations of one challenger raced (a retried or re-triggered run): the one that
        # won approves it; rejecting it here would leave the winner naming a Rejected package.
        current = _winners(dynamodb, settings).current(model.key) or {}
        same_package_won = current.get("model_package_arn") == package_arn
    if not same_package_won:
        set_approval(sagemaker, package_arn, result.won, reasons)
    champion_score = decision.get("champion_score")
    p_value = decision.get("p_value")
    return Reported(
        {"winner_changed": result.won, "outcome": result.outcome, **candidate},
        {
            "outcome": result.outcome,
            "challenger_macro_f1": decision["challenger_score"],
            "champion_macro_f1": champion_score if champion_score is not None else "none",
            "p_value": p_value if p_value is not None else "n/a",
            "model_package_arn": challenger["model_package_arn"],
            "reasons": " | ".join(reasons),
        },
    )


def approval_reason(approval: XCom) -> str:
    """One line for a recorded approval: who (or what) decided, when, and their comment.

    ``human approval: rejected by alice at <ISO>: <comment>`` when the approval carries the
    ``answer`` (``apply_human_decision``), else ``auto approval by policy at <ISO>``.
    """
    mode, by = approval.get("mode", "human"), approval.get("by", "?")
    if approval.get("answer"):
        line = f"{mode} approval: {approval['answer']} by {by}"
    else:
        line = f"{mode} approval by {by}"
    if approval.get("at"):
        line += f" at {approval['at']}"
    if approval.get("comment"):
        line += f": {approval['comment']}"
    return line


# ---------------------------------------------------------------- approval (evaluation.approval)
# The options of the ``approve`` task (evaluation.approval: human). ``Reject`` is also its default:
# what Airflow records when nobody answers within approval_timeout_seconds.
APPROVE = "Approve"
REJECT = "Reject"
APPROVAL_OPTIONS = (APPROVE, REJECT)
COMMENT_MAX = 500


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)


def _duration(seconds: int) -> str:
    days, rest = divmod(int(seconds), 24 * 3600)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{rest // 60} min" if rest // 60 else "")
    shown = " ".join(part for part in parts if part) or f"{seconds} s"
    return f"{shown} ({seconds} s)"


def s3_console_link(uri: str, region: str) -> str:
    """The AWS console page of the S3 object at ``uri`` (a browser cannot open ``s3://``)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return (
        f"https://s3.console.aws.amazon.com/s3/object/{bucket}"
        f"?region={region}&prefix={quote(key, safe='/')}"
    )


def approval_request(model: Model, decided: XCom, *, region: str) -> tuple[str, str]:
    """(subject, Markdown body) of the request a person answers: the policy's decision as the
    recommendation, with its scores, p-value and reasons, and the report."""
    decision, candidate = decided["decision"], decided["candidate"]
    promote = bool(decision["promote"])
    month = candidate.get("data_month", "?")
    subject = f"{model.label}: promote the challenger trained on {month}?"
    metric = model.evaluation.primary_metric
    champion = decision.get("champion_score")
    p_value = decision.get("p_value")
    lines = [
        f"**Recommendation of the comparison policy: {'promote' if promote else 'keep'}** "
        f"({'the challenger replaces the champion' if promote else 'the champion stays'}).",
        "",
        f"- challenger: `{candidate.get('model_package_arn', '?')}` (data {month})",
        f"- {metric}: challenger {float(decision['challenger_score']):.4f}, champion "
        + (f"{float(champion):.4f}" if champion is not None else "none (first model)"),
        "- McNemar one-sided p-value: "
        + (f"{float(p_value):.4g}" if p_value is not None else "n/a (no champion)"),
        "",
        "Reasons:",
        *[f"- {reason}" for reason in decision.get("reasons", [])],
        "",
        f"Report: `{decided['report_uri']}` "
        f"([open in the S3 console]({s3_console_link(decided['report_uri'], region)}))",
        "",
        f"**{APPROVE}** promotes the challenger"
        + (
            " (its endpoint then updates by itself: auto_deploy)."
            if model.endpoint.auto_deploy
            else f" (deploy it then with {model.dag_id('deploy')})."
        ),
        f"**{REJECT}** keeps the champion and rejects the challenger's model package.",
        f"No answer within {_duration(model.evaluation.approval_timeout_seconds)} rejects it. "
        "The comment is recorded with the decision.",
    ]
    return subject, "\n".join(lines)


def apply_human_decision(
    decided: XCom, answer: XCom | None, *, now: datetime, timeout_seconds: int
) -> dict[str, Any]:
    """``decided`` with a person's answer (the ``approve`` task's value) applied; pure.

    ``decided["decision"]["promote"]`` becomes the policy's decision *and* the person's: approving
    only confirms a promotion the policy allows (it never promotes a challenger the policy
    refused), rejecting keeps the champion; no answer within the timeout (Airflow then records the
    default, Reject, with no responder) rejects. ``decision["policy_promote"]`` keeps the policy's
    own decision; ``approval`` = ``{"mode": "human", "by", "at", "comment", "answer"}``
    (``timed_out`` on a timeout). An ``answer`` of ``{"asked": False}`` (the policy refused: nobody
    was asked) records ``{"mode": "auto", "by": "policy"}``. No answer at all is an error: a model
    that asks for a person is never promoted without one.
    """
    decision = dict(decided["decision"])
    policy_promote = bool(decision["promote"])
    if answer is None:
        raise ValueError(
            "no answer from the approve task: a model with evaluation.approval human is never "
            "recorded without a person's answer (was the task removed from the DAG?)"
        )
    approval: dict[str, Any]
    if answer.get("asked") is False:
        if policy_promote:
            raise ValueError("the approve task asked nobody, yet the policy recommends promotion")
        approval = {
            "mode": "auto",
            "by": "policy",
            "at": _iso(now),
            "comment": "the policy refused the challenger: nobody was asked",
        }
        return {**decided, "decision": decision, "approval": approval}
    chosen = list(answer.get("chosen_options") or [])
    if len(chosen) != 1 or chosen[0] not in APPROVAL_OPTIONS:
        raise ValueError(f"the approve task's answer {chosen} is not one of {APPROVAL_OPTIONS}")
    user = answer.get("responded_by_user")
    at = _iso(answer.get("responded_at") or now)
    comment = str((answer.get("params_input") or {}).get("comment") or "").strip()[:COMMENT_MAX]
    if not user:  # Airflow's timeout: the default option, answered by nobody
        approval = {
            "mode": "human",
            "by": "timeout",
            "at": at,
            "comment": f"no answer within {_duration(timeout_seconds)}",
            "answer": "rejected",
            "timed_out": True,
        }
        promote = False
    else:
        approved = chosen[0] == APPROVE
        promote = policy_promote and approved
        if approved and not policy_promote:
            verdict = "approved, but the policy refused the challenger: not promoted"
        else:
            verdict = "approved" if approved else "rejected"
        approval = {
            "mode": "human",
            "by": str(user.get("name") or user.get("id") or "?"),
            "at": at,
            "comment": comment,
            "answer": verdict,
        }
    decision |= {"promote": promote, "policy_promote": policy_promote}
    return {**decided, "decision": decision, "approval": approval}


def apply_approval(
    model: Model, decided: XCom, answer: XCom | None, *, now: datetime
) -> dict[str, Any]:
    """``decided`` with its approval: a person's answer whenever there is one (even if the
    countries file changed to ``auto`` since the run asked), else the policy's own
    (``{"mode": "auto", "by": "policy"}``) for an ``auto`` model."""
    if answer is not None or model.evaluation.approval == "human":
        return apply_human_decision(
            decided, answer, now=now, timeout_seconds=model.evaluation.approval_timeout_seconds
        )
    return {**decided, "approval": {"mode": "auto", "by": "policy", "at": _iso(now)}}


def compare(
    s3: Any,
    sagemaker: Any,
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    run: XCom,
    run_started_at: str,
    challenger: XCom,
    champion: XCom | None,
    evaluated: XCom,
    decided_at: str | None = None,
) -> Reported:
    """``decide_evaluation`` then ``record_decision``: the automatic path in one call."""
    decided = decide_evaluation(
        s3, model, challenger=challenger, champion=champion, evaluated=evaluated
    )
    return record_decision(
        sagemaker,
        dynamodb,
        settings,
        model,
        run=run,
        run_started_at=run_started_at,
        challenger=challenger,
        champion=champion,
        decided=decided,
        decided_at=decided_at,
    )


def winner_event(model: Model, comparison: XCom) -> dict[str, Any]:
    """The winner asset event's extra: the new winner of the model."""
    return {
        "country": model.country,
        "model_key": model.key,
        "model_name": comparison["model_name"],
        "model_package_arn": comparison["model_package_arn"],
        "data_month": comparison["data_month"],
    }


# ---------------------------------------------------------------- deploy
def plan_deployment(
    sagemaker: Any,
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    run_id: str,
    package_arn: str = "",
) -> dict[str, Any]:
    """What to deploy and the endpoint config request for it.

    ``package_arn`` (the param), else the model's current winner; either way the registry must
    hold it as Approved (a winner's version rejected since its promotion is not deployed).
    Missing or unapproved stops the deployment with what to do.
    """
    dag_id = model.dag_id("deploy")
    if package_arn:
        deployed = describe_candidate(sagemaker, package_arn)
        status = deployed["approval_status"]
        source = "the model_package_arn param"
    else:
        winner = _winners(dynamodb, settings).current(model.key)
        if winner is None:
            raise ModelRegistryError(
                f"{dag_id}: no winner in table {settings.winners_table} yet; "
                f"run {model.dag_id('evaluate')} first or pass model_package_arn"
            )
        deployed = winner
        status = approval_status(sagemaker, winner["model_package_arn"])
        source = f"the winner of {model.key} in table {settings.winners_table}"
    if status != APPROVED:
        raise ModelRegistryError(
            f"{dag_id}: model package {deployed['model_package_arn']} ({source}) is {status}, "
            "only Approved versions are deployed; approve it in the model registry or pass "
            "an Approved model_package_arn"
        )
    run = RunIdentity(
        run_id=run_id, data_month=deployed["data_month"], code_version=settings.code_version
    )
    return {
        "run": run.as_dict(),
        "model_name": deployed["model_name"],
        "model_package_arn": deployed["model_package_arn"],
        "endpoint_config_request": requests.endpoint_config_request(
            settings, model, run, model_name=deployed["model_name"]
        ),
        "invocation": requests.smoke_invocation(settings, model),
    }


def endpoint_request_after_config(
    settings: Settings, model: Model, run: XCom, created: XCom
) -> dict[str, Any]:
    """The CreateEndpoint request (update in place when it exists) on the new endpoint config."""
    return requests.endpoint_request(
        settings,
        model,
        _identity(run),
        endpoint_config_name=created["EndpointConfig"]["EndpointConfigName"],
    )


def verify_endpoint(sagemaker: Any, created: XCom, deployed: XCom) -> dict[str, Any]:
    """Fail unless the endpoint serves the new config (an automatic rollback leaves the old)."""
    expected = created["EndpointConfig"]["EndpointConfigName"]
    name = deployed["Endpoint"]["EndpointName"]
    check_serves_new_config(sagemaker.describe_endpoint(EndpointName=name), expected)
    return {"endpoint_name": name, "endpoint_config_name": expected}


def smoke_test(runtime: Any, invocation: XCom, verified: XCom, model_name: str) -> Reported:
    """One sample record through InvokeEndpoint; fail unless it answers with a label."""
    response = runtime.invoke_endpoint(**invocation)
    prediction = smoke_prediction(invocation["EndpointName"], response["Body"].read())
    return Reported(
        prediction,
        {
            "endpoint": verified["endpoint_name"],
            "endpoint_config": verified["endpoint_config_name"],
            "model_name": model_name,
            "smoke_label": prediction["label"],
            "smoke_confidence": float(prediction.get("confidence", 0.0)),
        },
    )


# ---------------------------------------------------------------- batch inference
def plan_month(settings: Settings, model: Model, *, data_month: str) -> dict[str, str]:
    """The month to score and the S3 key pattern its input lands under."""
    unlabeled = requests.s3_uri(settings.data_bucket, model.prefix, data_month, "unlabeled")
    return {"data_month": data_month, "input_pattern": unlabeled + "*"}


def plan_batch(
    dynamodb: Any, settings: Settings, model: Model, *, run_id: str, data_month: str
) -> dict[str, Any]:
    """The model's winner and the batch transform request with it; refuse without a winner."""
    winner = _winners(dynamodb, settings).current(model.key)
    if winner is None:
        raise RuntimeError(
            f"{model.dag_id('batch_inference')}: no winner in table {settings.winners_table}; "
            f"run {model.dag_id('train')} and {model.dag_id('evaluate')} first"
        )
    run = RunIdentity(run_id=run_id, data_month=data_month, code_version=settings.code_version)
    return {
        "run": run.as_dict(),
        "model_name": winner["model_name"],
        "transform_request": requests.batch_transform_request(
            settings, model, run, model_name=winner["model_name"]
        ),
    }


def postprocess_request_after_transform(
    settings: Settings, model: Model, run: XCom, transformed: XCom
) -> dict[str, Any]:
    """The postprocess processing request over the batch transform's output."""
    return requests.postprocess_request(
        settings, model, _identity(run), predictions_uri=_transform_output(transformed)
    )


def summarize(s3: Any, run: XCom, model_name: str, postprocessed: XCom) -> Reported:
    """The postprocess job's summary.json: rows scored and items flagged for review."""
    outputs = requests.processing_outputs(postprocessed["Processing"])
    summary: dict[str, Any] = json.loads(read_s3_text(s3, outputs["summary"] + "summary.json"))
    return Reported(
        summary,
        {
            "data_month": run["data_month"],
            "model_name": model_name,
            "rows": summary.get("rows"),
            "needs_review": summary.get("needs_review"),
            "predictions": outputs["predictions"],
        },
    )
