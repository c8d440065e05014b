"""
### evaluate__&lt;model&gt; — challenger vs champion on the same held-out test set and golden set

DAG ids: `evaluate__<cc>` for a country's default model, `evaluate__<cc>__<scheme>` for a
scheme's. Scheduled on the model's challenger asset (emitted by its train DAG); also manually
triggerable. The challenger is, in order: the `model_package_arn` param, the triggering asset
event's model package, or the newest PendingManualApproval version of the model's group. The
champion is the model's current winner in the DynamoDB winners table (none on the first run: only
the challenger is transformed, and it wins if it passes the floor on the test set and on the
golden set).

1. **build_requests** — resolve challenger and champion, check the model's golden set exists
   (`<data prefix>/golden/<code table version>/`: a missing one fails here, naming it), build the
   transform requests.
2. **transform_challenger** ∥ **transform_challenger_golden** ∥ **has_champion** →
   **transform_champion** ∥ **transform_champion_golden** — batch transforms of the month's test
   set and of the golden set.
3. **evaluation_request** → **evaluate_models** — processing job `evaluate`: metrics.json (with
   its `golden` section), per_item.jsonl, per_item_golden.jsonl, report.html.
4. **decide** — the automatic decision (floor, margin, McNemar, recall tolerance on the test set;
   floor and no significant regression on the golden set); records nothing.
   **approve** (only models with `evaluation.approval: human`) — a person approves or rejects a
   promotion the policy allows, in the UI's Required Actions or through the REST API (Airflow's
   human-in-the-loop; the task waits in `awaiting_input`, holding no worker slot); no answer
   within `approval_timeout_seconds` rejects. A challenger the policy refuses is not put to anyone.
5. **compare** — the approval applied (a person's answer, or the policy's for `auto`), conditional
   write to the winners table → approve/reject the registry version; who decided is recorded.
   Its notification and XCom (`costs`) carry what the transforms and the evaluate job cost.
6. **winner_changed** → **publish_winner** — the model's winner asset event, only on change.

A failed evaluation stops before compare: the winner never changes then.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTransformOperator,
)
from airflow.sdk import DAG, chain, task

# mlops.steps (the task bodies) is imported inside the tasks: parsing only builds the graph.
from mlops.aws import AWS_CONN_ID, aws_client, aws_resource
from mlops.config import Model
from mlops.dag_factory import (
    challenger_asset,
    generate_dags,
    model_dag,
    winner_asset,
)
from mlops.downstream import report_paused_downstream
from mlops.notifications import on_success, with_metrics
from mlops.operator_hooks import prepare_sagemaker_task
from mlops.params import airflow_params
from mlops.pools import pool_args
from mlops.run_context import run_started_at, task_results, triggering_extras
from mlops.settings import load_settings

KIND = "evaluate"
# The tasks whose SageMaker jobs the run's costs count (the champion's are skipped on a first run).
JOB_TASKS = (
    "transform_challenger",
    "transform_challenger_golden",
    "transform_champion",
    "transform_champion_golden",
    "evaluate_models",
)


def build_dag(model: Model) -> DAG:
    winner = winner_asset(model)
    prepare_evaluation_job = prepare_sagemaker_task(model.evaluation.max_runtime_seconds)

    with model_dag(
        KIND,
        model,
        # The asset itself, not Asset.ref(name=...): a run scheduled on a reference gets no
        # triggering_asset_events in Airflow 3.3.1 (so no event's package to evaluate).
        schedule=challenger_asset(model),
        doc_md=__doc__,
        description=f"Evaluate the {model.label} challenger against the champion",
        **airflow_params(KIND, model),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context: Any) -> dict[str, Any]:
            from mlops import steps

            return steps.plan_evaluation(
                aws_client("sagemaker"),
                aws_resource("dynamodb"),
                load_settings(),
                model,
                s3=aws_client("s3"),
                run_id=context["run_id"],
                run_started_at=run_started_at(context),
                package_arn=context["params"]["model_package_arn"],
                champion_package_arn=context["params"].get("champion_package_arn", ""),
                triggering_extras=triggering_extras(context),
            )

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def has_champion(champion: dict[str, Any] | None) -> bool:
            return champion is not None

        @task(trigger_rule="none_failed")
        def evaluation_request(
            run: dict[str, Any],
            challenger: dict[str, Any],
            golden: dict[str, Any],
            challenger_result: dict[str, Any],
            challenger_golden_result: dict[str, Any],
            **context: Any,
        ) -> dict[str, Any]:
            from mlops import steps

            # Pulled, not passed: the champion transforms are skipped on a model's first run.
            pull = context["ti"].xcom_pull
            return steps.evaluation_request_after_transforms(
                load_settings(),
                model,
                run,
                challenger,
                challenger_result,
                pull(task_ids="transform_champion"),
                golden=golden,
                challenger_golden_result=challenger_golden_result,
                champion_golden_result=pull(task_ids="transform_champion_golden"),
            )

        @task
        def decide(
            challenger: dict[str, Any],
            champion: dict[str, Any] | None,
            evaluated: dict[str, Any],
        ) -> dict[str, Any]:
            from mlops import steps

            return steps.decide_evaluation(
                aws_client("s3"),
                model,
                challenger=challenger,
                champion=champion,
                evaluated=evaluated,
            )

        @task(on_success_callback=on_success("compare"))
        def compare(
            run: dict[str, Any],
            run_started: str,
            challenger: dict[str, Any],
            champion: dict[str, Any] | None,
            decided: dict[str, Any],
            answer: dict[str, Any] | None = None,
            **context: Any,
        ) -> dict[str, Any]:
            from datetime import UTC, datetime

            from mlops import costs, steps

            settings = load_settings()
            # First: a malformed price table fails the task before anything is recorded.
            run_costs = costs.run_costs(
                aws_client("sagemaker"), settings.region, task_results(context, JOB_TASKS)
            )
            # A person's answer (approve's value) or, for an auto model, the policy's own.
            decided = steps.apply_approval(model, decided, answer, now=datetime.now(UTC))
            outcome = steps.record_decision(
                aws_client("sagemaker"),
                aws_resource("dynamodb"),
                settings,
                model,
                run=run,
                run_started_at=run_started,
                challenger=challenger,
                champion=champion,
                decided=decided,
            )
            return with_metrics(context, costs.with_costs(outcome, run_costs))

        @task.short_circuit
        def winner_changed(comparison: dict[str, Any]) -> bool:
            return bool(comparison["winner_changed"])

        @task(outlets=[winner])
        def publish_winner(comparison: dict[str, Any], **context: Any) -> None:
            from mlops import steps

            extra = steps.winner_event(model, comparison)
            context["outlet_events"][winner].extra = extra
            if model.endpoint.auto_deploy:  # deploy is scheduled on the winner asset
                conf = {"model_package_arn": extra["model_package_arn"]}
                report_paused_downstream(context, model, "deploy", winner.uri, conf)

        requests = build_requests()
        transform_challenger = SageMakerTransformOperator(
            task_id="transform_challenger",
            **pool_args(model, "transform_challenger"),
            config=requests["challenger_transform_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_evaluation_job,
        )
        transform_champion = SageMakerTransformOperator(
            task_id="transform_champion",
            **pool_args(model, "transform_champion"),
            config=requests["champion_transform_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_evaluation_job,
        )
        transform_challenger_golden = SageMakerTransformOperator(
            task_id="transform_challenger_golden",
            **pool_args(model, "transform_challenger_golden"),
            config=requests["challenger_golden_transform_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_evaluation_job,
        )
        transform_champion_golden = SageMakerTransformOperator(
            task_id="transform_champion_golden",
            **pool_args(model, "transform_champion_golden"),
            config=requests["champion_golden_transform_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_evaluation_job,
        )
        evaluation = evaluation_request(
            requests["run"],
            requests["challenger"],
            requests["golden"],
            transform_challenger.output,
            transform_challenger_golden.output,
        )
        evaluate_models = SageMakerProcessingOperator(
            task_id="evaluate_models",
            **pool_args(model, "evaluate_models"),
            config=evaluation,
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_evaluation_job,
        )
        decided = decide(requests["challenger"], requests["champion"], evaluate_models.output)
        answer = None
        if model.evaluation.approval == "human":
            from mlops.approval import APPROVAL_TASK_ID, PromotionApproval

            answer = PromotionApproval(
                task_id=APPROVAL_TASK_ID, model=model, decided=decided
            ).output
        comparison = compare(
            requests["run"],
            requests["run_started_at"],
            requests["challenger"],
            requests["champion"],
            decided,
            answer,
        )
        chain(has_champion(requests["champion"]), [transform_champion, transform_champion_golden])
        chain(
            [
                transform_challenger,
                transform_champion,
                transform_challenger_golden,
                transform_champion_golden,
            ],
            evaluation,
        )
        chain(comparison, winner_changed(comparison), publish_winner(comparison))
    return dag


globals().update(generate_dags(KIND, build_dag))
