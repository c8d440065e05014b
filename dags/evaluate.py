"""
### evaluate__&lt;cc&gt; — challenger vs champion on the same held-out test set

Scheduled on the `mlops://challenger/<cc>` asset (emitted by `train__<cc>`); also manually
triggerable. The challenger is, in order: the triggering asset event's model package, the
`model_package_arn` param, or the newest PendingManualApproval version of the country's group.
The champion is the country's current winner in the DynamoDB winners table (none on the first run:
only the challenger is transformed, and it wins if it passes the floor).

1. **build_requests** — resolve challenger and champion, build both transform requests.
2. **transform_challenger** ∥ **has_champion** → **transform_champion** — batch transforms.
3. **evaluate_models** — processing job `evaluate`: metrics.json, per_item.jsonl, report.html.
4. **compare** — pure decision (floor, margin, McNemar, recall tolerance) → conditional write to
   the winners table → approve/reject the registry version.
5. **winner_changed** → **publish_winner** — `mlops://winner/<cc>` asset event, only on change.

A failed evaluation stops before compare: the winner never changes then.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTransformOperator,
)
from airflow.sdk import DAG, chain, get_parsing_context, task
from mlops.config import Country, countries_to_generate
from mlops.notifications import METRICS_XCOM_KEY, on_success
from mlops.wiring import (
    AWS_CONN_ID,
    asset_ref,
    challenger_asset,
    country_dag,
    model_package_param,
    waits,
    winner_asset,
)


def build_dag(country: Country) -> DAG:
    cc = country.code
    eval_runtime = country.evaluation.max_runtime_seconds

    with country_dag(
        "evaluate",
        country,
        schedule=asset_ref(challenger_asset(cc)),
        doc_md=__doc__,
        description=f"Evaluate the {cc.upper()} challenger against the champion",
        model_package_arn=model_package_param(
            "empty: the triggering asset event's package, else the newest "
            "PendingManualApproval version of the country's group"
        ),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context) -> dict:
            from mlops.config import get_country
            from mlops.model_registry import describe_candidate, newest_pending_package
            from mlops.naming import model_package_group_name
            from mlops.sagemaker_requests import evaluation_transform_request
            from mlops.settings import load_settings
            from mlops.winners import WinnersRegistry
            from mlops.wiring import aws_client, run_identity, run_started_at, winners_table

            settings = load_settings()
            country_config = get_country(cc)
            sagemaker = aws_client("sagemaker")
            package_arn = context["params"]["model_package_arn"]
            if not package_arn:
                # Scheduled on this country's challenger asset only: any event is its.
                events = [e for group in context["triggering_asset_events"].values() for e in group]
                if events:
                    package_arn = events[-1].extra.get("model_package_arn", "")
            if not package_arn:
                group = model_package_group_name(settings.name_prefix, cc)
                package_arn = newest_pending_package(sagemaker, group)
            challenger = describe_candidate(sagemaker, package_arn)
            champion = WinnersRegistry(winners_table(settings.winners_table)).current(cc)
            run = run_identity(context, challenger["data_month"], settings.code_version)

            def transform(role: str, model_name: str) -> dict:
                return evaluation_transform_request(
                    settings,
                    country_config,
                    run,
                    role=role,
                    model_name=model_name,
                    test_features_uri=challenger["test_features_uri"],
                )

            return {
                "run": run.as_dict(),
                "run_started_at": run_started_at(context),
                "challenger": challenger,
                "champion": champion,
                "challenger_transform": transform("challenger", challenger["model_name"]),
                "champion_transform": transform("champion", champion["model_name"])
                if champion
                else None,
            }

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def has_champion(champion: dict | None) -> bool:
            return champion is not None

        @task(trigger_rule="none_failed")
        def evaluation_config(run: dict, challenger: dict, challenger_result: dict, **context):
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import evaluate_request
            from mlops.settings import load_settings

            # Pulled, not passed: the champion transform is skipped on a country's first run.
            champion_result = context["ti"].xcom_pull(task_ids="transform_champion")
            return evaluate_request(
                load_settings(),
                get_country(cc),
                RunIdentity(**run),
                challenger_output_uri=challenger_result["Transform"]["TransformOutput"][
                    "S3OutputPath"
                ],
                champion_output_uri=champion_result["Transform"]["TransformOutput"]["S3OutputPath"]
                if champion_result
                else None,
                test_labels_uri=challenger["test_labels_uri"],
            )

        @task(on_success_callback=on_success("compare"))
        def compare(
            run: dict,
            run_started: str,
            challenger: dict,
            champion: dict | None,
            evaluated: dict,
            **context,
        ) -> dict:
            import json
            from datetime import UTC, datetime

            from mlops.comparison import Policy, decide
            from mlops.config import get_country
            from mlops.model_registry import set_approval
            from mlops.sagemaker_requests import processing_outputs
            from mlops.settings import load_settings
            from mlops.winners import WinnersRegistry
            from mlops.wiring import aws_client, read_s3_text, winners_table

            settings = load_settings()
            report_uri = processing_outputs(evaluated["Processing"])["evaluation"]
            metrics = json.loads(read_s3_text(report_uri + "metrics.json"))
            per_item = [
                json.loads(line)
                for line in read_s3_text(report_uri + "per_item.jsonl").splitlines()
                if line.strip()
            ]
            decision = decide(
                metrics["challenger"],
                metrics.get("champion") if champion else None,
                per_item,
                Policy.from_country(get_country(cc).evaluation),
            )
            candidate = {
                "model_name": challenger["model_name"],
                "model_package_arn": challenger["model_package_arn"],
                "data_month": challenger["data_month"],
                "test_set_uri": challenger["test_features_uri"],
                "image_digest": challenger.get("image_digest", ""),
                "report_uri": report_uri + "report.html",
                "metrics": {key: metrics["challenger"][key] for key in ("accuracy", "macro_f1")},
            }
            result = WinnersRegistry(winners_table(settings.winners_table)).record(
                country=cc,
                candidate=candidate,
                decision=decision.as_dict(),
                run_id=run["run_id"],
                run_started_at=run_started,
                decided_at=datetime.now(UTC).isoformat(),
                expected_version=champion["version"] if champion else None,
            )
            reasons = list(decision.reasons)
            if result.outcome == "lost_race":
                reasons.append("a newer or concurrent evaluation changed the winner first")
            set_approval(
                aws_client("sagemaker"), challenger["model_package_arn"], result.won, reasons
            )
            context["ti"].xcom_push(
                key=METRICS_XCOM_KEY,
                value={
                    "outcome": result.outcome,
                    "challenger_macro_f1": decision.challenger_score,
                    "champion_macro_f1": decision.champion_score
                    if decision.champion_score is not None
                    else "none",
                    "p_value": decision.p_value if decision.p_value is not None else "n/a",
                    "model_package_arn": challenger["model_package_arn"],
                    "reasons": " | ".join(reasons),
                },
            )
            return {"winner_changed": result.won, "outcome": result.outcome, **candidate}

        @task.short_circuit
        def winner_changed(comparison: dict) -> bool:
            return bool(comparison["winner_changed"])

        @task(outlets=[winner_asset(cc)])
        def publish_winner(comparison: dict, **context) -> None:
            context["outlet_events"][winner_asset(cc)].extra = {
                "country": cc,
                "model_name": comparison["model_name"],
                "model_package_arn": comparison["model_package_arn"],
                "data_month": comparison["data_month"],
            }

        requests = build_requests()
        transform_challenger = SageMakerTransformOperator(
            task_id="transform_challenger",
            config=requests["challenger_transform"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(eval_runtime),
        )
        champion_exists = has_champion(requests["champion"])
        transform_champion = SageMakerTransformOperator(
            task_id="transform_champion",
            config=requests["champion_transform"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(eval_runtime),
        )
        evaluation_request = evaluation_config(
            requests["run"], requests["challenger"], transform_challenger.output
        )
        evaluate_models = SageMakerProcessingOperator(
            task_id="evaluate_models",
            config=evaluation_request,
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(eval_runtime),
        )
        comparison = compare(
            requests["run"],
            requests["run_started_at"],
            requests["challenger"],
            requests["champion"],
            evaluate_models.output,
        )
        chain(champion_exists, transform_champion)
        chain([transform_challenger, transform_champion], evaluation_request)
        chain(comparison, winner_changed(comparison), publish_winner(comparison))
    return dag


for _country in countries_to_generate("evaluate", get_parsing_context().dag_id):
    globals()[f"evaluate__{_country.code}"] = build_dag(_country)
