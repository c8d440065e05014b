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

from mlops import batch_drift, evaluation_report
from mlops import sagemaker_requests as requests
from mlops.comparison import Policy, decide
from mlops.config import Model
from mlops.deployment import check_serves_new_config, smoke_prediction
from mlops.events import landing_from_events, marker_key
from mlops.model_registry import (
    APPROVED,
    PENDING,
    ModelRegistryError,
    approval_status,
    attach_evaluation,
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
    return WinnersRegistry(
        dynamodb.Table(settings.winners_table), dynamodb.Table(settings.winners_history_table)
    )


def read_s3_text(s3: Any, uri: str) -> str:
    """The text of the object at ``s3://bucket/key``."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")


def write_s3_text(s3: Any, uri: str, text: str, *, content_type: str = "application/json") -> None:
    """Write ``text`` to ``s3://bucket/key`` (the bucket's default SSE-KMS encrypts it)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type)


# ---------------------------------------------------------------- which month a run is for
@dataclass(frozen=True)
class RunMonth:
    """The month a train or batch run works on, or why it does nothing (``month`` None).

    ``ignored``: what the triggering events held that is not one of the model's markers (logged
    as a warning, never silently dropped). ``fallback``: the month was not asked for nor
    announced (a cron fallback run, or one started without ``data_month`` nor events).
    """

    month: str | None
    reason: str
    ignored: tuple[str, ...] = ()
    fallback: bool = False


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
        return RunMonth(
            fallback, f"no param and no landing event: the previous month {fallback}", fallback=True
        )
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


def fallback_landed(
    s3: Any, settings: Settings, model: Model, chosen: RunMonth, data_kind: str
) -> RunMonth:
    """``chosen``, unless it is a fallback run's month whose ``data_kind`` marker has not landed.

    A fallback run (cron) catches a month whose marker event was lost. It never starts on a
    month still landing (half-uploaded data), and never waits for one: a model's DAG runs one
    at a time, and a fallback run waiting for this month's input (up to a day) would hold back
    the event-started run of a late earlier month. The marker's own event starts the run.
    """
    if chosen.month is None or not chosen.fallback:
        return chosen
    marker = marker_key(model, chosen.month, data_kind)
    if _object_exists(s3, f"s3://{settings.data_bucket}/{marker}"):
        return chosen
    return RunMonth(
        None,
        f"{chosen.reason}: its {data_kind} marker s3://{settings.data_bucket}/{marker} has not "
        "landed; its event starts the run (set data_month to run it anyway)",
        chosen.ignored,
        fallback=True,
    )


def batch_month(s3: Any, settings: Settings, model: Model, chosen: RunMonth) -> RunMonth:
    """``chosen``, unless the month's predictions are written already or, for a fallback run,
    its unlabeled marker has not landed (``fallback_landed``). For runs nobody asked for (an
    event, the cron fallback)."""
    chosen = fallback_landed(s3, settings, model, chosen, "unlabeled")
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
    settings: Settings, model: Model, *, run_id: str, data_month: str, dynamodb: Any
) -> dict[str, Any]:
    """The run identity and the prepare request of a training run for ``data_month``.

    The data gates' drift reference is the training profile of the model's current winner
    (its ``profile_uri`` in the winners table of ``dynamodb``); without a winner, or a winner
    registered before profiles were recorded, there is none and the drift gates are skipped.
    ``dynamodb=None`` says there is no winners table to read (request-shape tests only).
    """
    run = RunIdentity(run_id=run_id, data_month=data_month, code_version=settings.code_version)
    winner = _winners(dynamodb, settings).current(model.key) if dynamodb is not None else None
    reference = str((winner or {}).get("profile_uri") or "")
    return {
        "run": run.as_dict(),
        "reference": {
            "profile_uri": reference,
            "data_month": (winner or {}).get("data_month") if reference else None,
            "model_package_arn": (winner or {}).get("model_package_arn") if reference else None,
        },
        "prepare_request": requests.prepare_request(
            settings, model, run, reference_profile_uri=reference
        ),
    }


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
    *,
    s3: Any = None,
) -> Reported:
    """Register the trained model as a PendingManualApproval version: the challenger.

    The value is the challenger asset event's extra: what evaluate needs to find the version.
    The version carries ``profile_uri`` (prepare's profile.json: the next month's drift
    reference once it wins). With ``s3``, the notification metrics add the data gates' summary
    from that profile.
    """
    training = trained["Training"]
    outputs = requests.processing_outputs(prepared["Processing"])
    profile_uri = requests.profile_uri(prepared["Processing"])
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
        profile_uri=profile_uri,
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
        "profile_uri": profile_uri,
    }
    gates = gate_metrics(s3, profile_uri) if s3 is not None else {}
    return Reported(
        challenger,
        {"model_package_arn": package_arn, "data_month": run["data_month"]} | metrics | gates,
    )


def gate_metrics(s3: Any, profile_uri: str) -> dict[str, Any]:
    """The data gates' summary and the drift numbers from prepare's profile.json, for the
    success notification; empty when the profile cannot be read (it never fails a run)."""
    try:
        profile = json.loads(read_s3_text(s3, profile_uri))
    except Exception:  # noqa: BLE001 - a notification detail, not a result
        return {}
    if not isinstance(profile, dict) or "gates_summary" not in profile:
        return {}
    metrics: dict[str, Any] = {"data_gates": profile["gates_summary"]}
    drift = profile.get("drift")
    if isinstance(drift, dict):
        reference = drift.get("reference") or {}
        metrics["drift_reference_month"] = reference.get("data_month")
        if drift.get("class_distance") is not None:
            metrics["drift_class_distance"] = float(drift["class_distance"])
    return metrics


# ---------------------------------------------------------------- evaluate
class GoldenSetError(RuntimeError):
    """A model has no readable golden set for the code table its challenger was trained on."""


def golden_set_version(model: Model, challenger: XCom) -> str:
    """The code table a challenger was trained against: its registry metadata's, else the
    countries file's (what its train run used)."""
    return str(challenger.get("code_table_version") or model.code_table_version)


def check_golden_set(s3: Any, model: Model, golden: XCom) -> None:
    """Fail unless both golden-set objects exist (and are readable): an evaluation without its
    golden set never starts, it never skips the golden checks."""
    missing = []
    for name in ("features_uri", "labels_uri"):
        bucket, _, key = golden[name].removeprefix("s3://").partition("/")
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            missing.append(
                f"{golden[name]} ({'not found' if code in ('404', 'NoSuchKey') else code})"
            )
            continue
        if not head.get("ContentLength"):
            missing.append(f"{golden[name]} (empty)")
    if missing:
        raise GoldenSetError(
            f"{model.dag_id('evaluate')}: no golden set for model {model.key}, code table "
            f"{golden['code_table_version']}, at {golden['uri']}: {'; '.join(missing)}. Upload "
            "the code table's golden set (features.jsonl, labels.jsonl) there: every evaluation "
            "scores both models on it"
        )


def plan_evaluation(
    sagemaker: Any,
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    s3: Any,
    run_id: str,
    run_started_at: str,
    package_arn: str = "",
    champion_package_arn: str = "",
    triggering_extras: Sequence[XCom] = (),
) -> dict[str, Any]:
    """Resolve challenger and champion and build the transform requests of each: the month's
    test set and the model's golden set (``s3`` checks the golden set exists first).

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
    golden = requests.golden_set_uris(settings, model, golden_set_version(model, challenger))
    check_golden_set(s3, model, golden)
    run = RunIdentity(
        run_id=run_id, data_month=challenger["data_month"], code_version=settings.code_version
    )

    def transform(role: str, model_name: str, test_set: str = "test") -> dict[str, Any]:
        return requests.evaluation_transform_request(
            settings,
            model,
            run,
            role=role,
            model_name=model_name,
            test_features_uri=golden["features_uri"]
            if test_set == "golden"
            else challenger["test_features_uri"],
            test_set=test_set,
        )

    return {
        "run": run.as_dict(),
        "run_started_at": run_started_at,
        "challenger": challenger,
        "challenger_from": source,
        "champion": champion,
        "golden": golden,
        "challenger_transform_request": transform("challenger", challenger["model_name"]),
        "champion_transform_request": transform("champion", champion["model_name"])
        if champion
        else None,
        "challenger_golden_transform_request": transform(
            "challenger", challenger["model_name"], "golden"
        ),
        "champion_golden_transform_request": transform("champion", champion["model_name"], "golden")
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
    *,
    golden: XCom,
    challenger_golden_result: XCom,
    champion_golden_result: XCom | None,
) -> dict[str, Any]:
    """The evaluate processing request over the transforms' outputs (champion's if it ran): the
    month's test set and the golden set (``golden``: ``plan_evaluation``'s)."""
    return requests.evaluate_request(
        settings,
        model,
        _identity(run),
        challenger_output_uri=_transform_output(challenger_result),
        champion_output_uri=_transform_output(champion_result) if champion_result else None,
        test_labels_uri=challenger["test_labels_uri"],
        golden_challenger_output_uri=_transform_output(challenger_golden_result),
        golden_champion_output_uri=_transform_output(champion_golden_result)
        if champion_golden_result
        else None,
        golden_labels_uri=golden["labels_uri"],
    )


def decide_evaluation(
    s3: Any,
    model: Model,
    *,
    challenger: XCom,
    champion: XCom | None,
    evaluated: XCom,
) -> dict[str, Any]:
    """The automatic decision from the evaluation's outputs; records nothing.

    Reads metrics.json and per_item.jsonl the evaluate job wrote and decides
    (``comparison.decide``), on the month's test set and on the golden set (metrics.json's
    ``golden`` section and per_item_golden.jsonl; missing: an error, never a skip). The value
    (``decided``) is what ``record_decision`` records: ``decision`` (``Decision.as_dict()``, with
    the ``golden_*`` fields), ``candidate`` (the winners-table fields of the challenger, with
    ``golden_set_uri`` and ``golden_metrics``), ``report_uri``, ``metrics_uri`` and ``golden``
    (URI, items, both models' accuracy and macro-F1 there). Its only writes are the evaluation's
    own artifacts: decision.json and the report's header (``write_decision_report``).
    """
    report_uri = requests.processing_outputs(evaluated["Processing"])["evaluation"]
    metrics = json.loads(read_s3_text(s3, report_uri + "metrics.json"))
    per_item = _read_jsonl(s3, report_uri + "per_item.jsonl")
    golden = metrics.get("golden")
    if not isinstance(golden, dict) or not golden.get("challenger"):
        raise GoldenSetError(
            f"{model.dag_id('evaluate')}: {report_uri}metrics.json has no golden-set results "
            "(a 'golden' section with the challenger's metrics): the evaluate job must score "
            "both models on the golden set"
        )
    golden_per_item = _read_jsonl(s3, report_uri + "per_item_golden.jsonl")
    decision = decide(
        metrics["challenger"],
        metrics.get("champion") if champion else None,
        per_item,
        Policy.from_evaluation(model.evaluation),
        golden={**golden, "champion": golden.get("champion") if champion else None},
        golden_per_item=golden_per_item,
    )
    golden_labels = _processing_input_uri(evaluated["Processing"], "golden_labels")
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
        # The golden set it was scored on, and its numbers there.
        "golden_set_uri": golden_labels.rsplit("/", 1)[0] + "/",
        "golden_metrics": {key: golden["challenger"][key] for key in ("accuracy", "macro_f1")},
    }
    decided = {
        "decision": decision.as_dict(),
        "candidate": candidate,
        "report_uri": report_uri + "report.html",
        "golden": {
            "uri": candidate["golden_set_uri"],
            "n_items": golden.get("n_items"),
            "challenger": candidate["golden_metrics"],
            "champion": {key: golden["champion"][key] for key in ("accuracy", "macro_f1")}
            if champion and golden.get("champion")
            else None,
        },
        "metrics_uri": report_uri + "metrics.json",
    }
    write_decision_report(s3, model, challenger=challenger, champion=champion, decided=decided)
    return decided


def _read_text_or_none(s3: Any, uri: str) -> str | None:
    """The text of the object at ``uri``, or None when it does not exist."""
    try:
        return read_s3_text(s3, uri)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
            return None
        raise


def write_decision_report(
    s3: Any,
    model: Model,
    *,
    challenger: XCom,
    champion: XCom | None,
    decided: XCom,
) -> None:
    """Write ``decision.json`` beside metrics.json and fill the report's header and data checks.

    The evaluate job cannot show the decision (it is made here, after the job), so it leaves
    marked regions in report.html that this fills (``mlops.evaluation_report``): country,
    scheme, both data months, the automatic decision with its reasons and p-values, then the
    gates and drift of the challenger's training-data profile. Rewriting is idempotent (a retry
    replaces the same regions). A person's approval, when the model asks for one, comes later
    and is recorded with the decision; the report shows the automatic one, the recommendation.
    """
    report_uri = str(decided["report_uri"])
    base = report_uri.rsplit("/", 1)[0] + "/"
    decision = decided["decision"]
    record = {
        "model_key": model.key,
        "country": model.country,
        "scheme": model.scheme,
        "challenger": {
            key: challenger.get(key) for key in ("model_package_arn", "model_name", "data_month")
        },
        "champion": None
        if not champion
        else {key: champion.get(key) for key in ("model_package_arn", "model_name", "data_month")},
        "decision": decision,
        "candidate": decided["candidate"],
        "report_uri": report_uri,
        "metrics_uri": decided.get("metrics_uri", base + "metrics.json"),
    }
    profile_uri = str(challenger.get("profile_uri") or "")
    profile_text = _read_text_or_none(s3, profile_uri) if profile_uri else None
    profile, note = None, f"{profile_uri} does not exist" if profile_uri else ""
    if profile_text is not None:
        try:
            profile, note = json.loads(profile_text), ""
        except json.JSONDecodeError as exc:  # the report says so; the decision is not its
            note = f"{profile_uri} is not valid JSON ({exc.msg}, line {exc.lineno})"
        if not isinstance(profile, dict):
            profile, note = None, note or f"{profile_uri} is not a JSON object"
    report = _read_text_or_none(s3, report_uri)
    html = evaluation_report.render(
        evaluation_report.skeleton(model.label) if report is None else report,
        evaluation_report.header_html(
            country=model.country,
            scheme=model.scheme,
            challenger=challenger,
            champion=champion,
            decision=decision,
        ),
        evaluation_report.checks_html(profile, profile_uri, note),
    )
    write_s3_text(s3, base + "decision.json", json.dumps(record, indent=2, default=str) + "\n")
    write_s3_text(s3, report_uri, html, content_type="text/html; charset=utf-8")


def _read_jsonl(s3: Any, uri: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_s3_text(s3, uri).splitlines() if line.strip()]


def _processing_input_uri(description: XCom, name: str) -> str:
    for channel in description.get("ProcessingInputs") or []:
        if channel["InputName"] == name:
            return str(channel["S3Input"]["S3Uri"])
    raise GoldenSetError(
        f"processing job {description.get('ProcessingJobName')}: no input {name!r} "
        "(an evaluation without its golden set)"
    )


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

    The winner always names an Approved version: a promotion approves the version first, then
    writes the winner conditionally; a lost race then rejects it, unless the race's winner is the
    same version. Idempotent per run (``run_id``, ``run_started_at``): a retried task records
    nothing again and reports the first result. Transient DynamoDB errors that outlast the
    retries raise (``WinnersWriteError``): nothing is recorded or rejected, Airflow retries.
    ``decided`` may carry ``approval`` (who decided, when, how: a person's answer replaces the
    automatic ``decision["promote"]``); it is recorded with the decision.
    """
    decision = dict(decided["decision"])
    candidate = dict(decided["candidate"])
    approval = decided.get("approval")
    if approval:
        decision["approval"] = dict(approval)
    reasons = list(decision["reasons"])
    if approval:
        reasons.append(approval_reason(approval))
    package_arn = challenger["model_package_arn"]
    winners = _winners(dynamodb, settings)
    result = winners.recorded(model.key, run_id=run["run_id"], run_started_at=run_started_at)
    if result is None:
        promote = bool(decision.get("promote"))
        # The version carries its evaluation (report, metrics, decision) whatever the outcome;
        # first, so that the approval below is the version's last update.
        attach_evaluation(sagemaker, package_arn, evaluation_properties(decided))
        if promote:
            # Before the winner write: a failed approval leaves the winner as it was.
            set_approval(sagemaker, package_arn, True, reasons)
        try:
            result = winners.record(
                model_key=model.key,
                candidate=candidate,
                decision=decision,
                run_id=run["run_id"],
                run_started_at=run_started_at,
                decided_at=decided_at or datetime.now(UTC).isoformat(),
                expected_version=champion["version"] if champion else None,
            )
        except Exception as exc:
            if promote and challenger.get("approval_status") == PENDING:
                _withdraw_approval(sagemaker, package_arn, exc)
            raise
    elif result.won and approval_status(sagemaker, package_arn) != APPROVED:
        # A retry of a run whose winner write went through but whose task failed after it.
        set_approval(sagemaker, package_arn, True, reasons)
    if result.outcome == "lost_race":
        reasons.append(LOST_RACE_REASON)
        # Two evaluations of one challenger raced (a retried or re-triggered run): the one that
        # won approves it; rejecting it here would leave the winner naming a Rejected package.
        current = winners.current(model.key) or {}
        if current.get("model_package_arn") != package_arn:
            set_approval(sagemaker, package_arn, False, reasons)
    elif not result.won:
        set_approval(sagemaker, package_arn, False, reasons)
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
            "report_uri": decided["report_uri"],
        },
    )


def _withdraw_approval(sagemaker: Any, package_arn: str, cause: Exception) -> None:
    """Put a version approved for a winner write that failed back to PendingManualApproval, so it
    stays a challenger (best effort: the task fails on ``cause`` either way)."""
    try:
        sagemaker.update_model_package(
            ModelPackageArn=package_arn,
            ModelApprovalStatus=PENDING,
            ApprovalDescription=(
                f"approval withdrawn: the winners table write failed ({cause}); "
                "the evaluation's retry decides again"
            )[:1024],
        )
    except Exception as withdraw_error:  # the write's error is the one to raise
        cause.add_note(f"withdrawing the approval of {package_arn} failed too: {withdraw_error}")


def evaluation_properties(decided: XCom) -> dict[str, str]:
    """The registry version's CustomerMetadataProperties that point at its evaluation."""
    report_uri = str(decided["report_uri"])
    base = report_uri.rsplit("/", 1)[0] + "/"
    return {
        "evaluation_report_uri": report_uri,
        "evaluation_metrics_uri": str(decided.get("metrics_uri") or base + "metrics.json"),
        "evaluation_decision_uri": base + "decision.json",
    }


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
    dynamodb: Any,
    settings: Settings,
    model: Model,
    *,
    run_id: str,
    data_month: str,
    sagemaker: Any,
) -> dict[str, Any]:
    """The model's winner and the batch transform request with it; refuse without a winner,
    and refuse a winner whose version the registry does not hold as Approved."""
    dag_id = model.dag_id("batch_inference")
    winner = _winners(dynamodb, settings).current(model.key)
    if winner is None:
        raise ModelRegistryError(
            f"{dag_id}: no winner in table {settings.winners_table}; "
            f"run {model.dag_id('train')} and {model.dag_id('evaluate')} first"
        )
    status = approval_status(sagemaker, winner["model_package_arn"])
    if status != APPROVED:
        raise ModelRegistryError(
            f"{dag_id}: the winner of {model.key} in table {settings.winners_table} "
            f"(model {winner['model_name']}, package {winner['model_package_arn']}) is {status}; "
            "only Approved versions score batches: approve it in the model registry if it "
            f"should serve, or run {model.dag_id('evaluate')} to crown an Approved version"
        )
    run = RunIdentity(run_id=run_id, data_month=data_month, code_version=settings.code_version)
    return {
        "run": run.as_dict(),
        "model_name": winner["model_name"],
        # The winner's training-data profile: the reference of the month's drift.
        "profile_uri": str(winner.get("profile_uri") or ""),
        "transform_request": requests.batch_transform_request(
            settings, model, run, model_name=winner["model_name"]
        ),
    }


def _object_exists(s3: Any, uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _prefix_has_objects(s3: Any, uri: str) -> bool:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0))


def postprocess_request_after_transform(
    settings: Settings,
    model: Model,
    run: XCom,
    transformed: XCom,
    *,
    s3: Any = None,
    profile_uri: str = "",
) -> dict[str, Any]:
    """The postprocess processing request over the batch transform's output.

    With ``s3``, the drift inputs that exist: the winner's training-data profile
    (``profile_uri``) and the endpoint's captured requests of the month (SageMaker fails a
    job on an input prefix without objects, so an absent one is left out; ``summarize`` says
    why there is no drift).
    """
    identity = _identity(run)
    reference = capture = None
    if s3 is not None:
        if profile_uri and _object_exists(s3, profile_uri):
            reference = profile_uri
        if model.endpoint.data_capture_percent > 0:
            month = requests.data_capture_month_uri(settings, model, identity.data_month)
            capture = month if _prefix_has_objects(s3, month) else None
    return requests.postprocess_request(
        settings,
        model,
        identity,
        predictions_uri=_transform_output(transformed),
        reference_profile_uri=reference,
        capture_uri=capture,
    )


def _reference_note(postprocessed: XCom, profile_uri: str) -> str:
    """Why the postprocess job had no reference profile (for the notification)."""
    names = {i.get("InputName") for i in postprocessed["Processing"].get("ProcessingInputs", [])}
    if "reference_profile" in names:
        return ""
    if not profile_uri:
        return "the winner has no profile_uri (promoted before profiles were recorded)"
    return f"the winner's profile {profile_uri} does not exist"


def summarize(
    s3: Any,
    run: XCom,
    model_name: str,
    postprocessed: XCom,
    *,
    model: Model | None = None,
    profile_uri: str = "",
) -> Reported:
    """The postprocess job's summary.json: rows scored, items flagged for review, and the drift
    from the winner's training data; past the model's thresholds the value's ``drift_alerts``
    lists why (the batch DAG then sends a warning; the run still succeeds)."""
    outputs = requests.processing_outputs(postprocessed["Processing"])
    summary: dict[str, Any] = json.loads(read_s3_text(s3, outputs["summary"] + "summary.json"))
    drift = summary.get("drift")
    alerts = batch_drift.drift_alerts(drift, model.batch_inference) if model else []
    return Reported(
        {**summary, "drift_alerts": alerts} if model else summary,
        {
            "data_month": run["data_month"],
            "model_name": model_name,
            "rows": summary.get("rows"),
            "needs_review": summary.get("needs_review"),
            "predictions": outputs["predictions"],
            **batch_drift.drift_metrics(
                drift, reference_note=_reference_note(postprocessed, profile_uri)
            ),
            **({"drift_alerts": len(alerts)} if model else {}),
        },
    )
