"""
### batch_inference__&lt;model&gt; — score the month's unlabeled products with the winner

DAG ids: `batch_inference__<cc>` for a country's default model, `batch_inference__<cc>__<scheme>`
for a scheme's. On the model's cron (monthly by default); also manual with a `data_month` param.

1. **plan_month** — the month (param, else the month before the run's data interval end, or
   before now) and where its input is.
2. **wait_for_input** — deferrable S3 sensor for `<prefix>/<YYYY-MM>/unlabeled/*`.
3. **build_requests** — the winner from the DynamoDB winners table → transform request.
4. **batch_transform** — SageMaker batch transform with the winner's model.
5. **postprocess_request** → **postprocess** — processing job `postprocess`: ids, confidence,
   `needs_review` for low confidence → `<prefix>/<YYYY-MM>/predictions/` (KMS); the drift of
   the month's items and of the endpoint's captured requests of the month from the winner's
   training-data profile → `predictions/_summary/drift.json`.
6. **summarize** — rows, items flagged for review, the drift and what the transform and the
   postprocess job cost (XCom `costs`), for the notification; drift past the model's
   `batch_inference.drift_alert_*` thresholds sends a warning (the run succeeds).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTransformOperator,
)
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG, chain, task

# mlops.steps (the task bodies) is imported inside the tasks: parsing only builds the graph.
from mlops.aws import AWS_CONN_ID, aws_client, aws_resource
from mlops.config import Model
from mlops.dag_factory import fallback_cron, generate_dags, landing_schedule, model_dag
from mlops.notifications import on_success_or_warning, with_alerts, with_metrics
from mlops.operator_hooks import prepare_sagemaker_task, prepare_sensor
from mlops.params import airflow_params, model_for_batch
from mlops.pools import pool_args
from mlops.run_context import data_month, month_or_skip, task_results, triggering_extras
from mlops.settings import load_settings

KIND = "batch_inference"
# The tasks whose SageMaker jobs the run's costs count.
JOB_TASKS = ("batch_transform", "postprocess")


def build_dag(model: Model) -> DAG:
    profile = model.batch_inference

    with model_dag(
        KIND,
        model,
        schedule=landing_schedule(model, "unlabeled", profile.schedule or fallback_cron(model)),
        doc_md=__doc__,
        description=f"Monthly batch predictions for {model.label} with the current winner",
        **airflow_params(KIND, model),
    ) as dag:

        @task(multiple_outputs=True)
        def plan_month(**context: Any) -> dict[str, Any]:
            from mlops import steps

            settings = load_settings()
            param = context["params"]["data_month"]
            chosen = steps.run_month(
                model,
                "unlabeled",
                settings.data_bucket,
                param=param,
                extras=triggering_extras(context),
                fallback=data_month("", context),
            )
            if not param:  # nobody asked for this month: a duplicate event or cron run skips
                chosen = steps.batch_month(aws_client("s3"), settings, model, chosen)
            return steps.plan_month(settings, model, data_month=month_or_skip(chosen))

        @task(multiple_outputs=True)
        def build_requests(month: str, **context: Any) -> dict[str, Any]:
            from mlops import steps

            return steps.plan_batch(
                aws_resource("dynamodb"),
                load_settings(),
                model,
                run_id=context["run_id"],
                data_month=month,
                sagemaker=aws_client("sagemaker"),
            )

        @task
        def postprocess_request(
            run: dict[str, Any], transformed: dict[str, Any], profile_uri: str, **context: Any
        ) -> dict[str, Any]:
            from mlops import steps

            return steps.postprocess_request_after_transform(
                load_settings(),
                model_for_batch(model, context["params"]),
                run,
                transformed,
                s3=aws_client("s3"),
                profile_uri=profile_uri,
            )

        @task(on_success_callback=on_success_or_warning("summarize"))
        def summarize(
            run: dict[str, Any],
            model_name: str,
            postprocessed: dict[str, Any],
            profile_uri: str,
            **context: Any,
        ) -> dict[str, Any]:
            from mlops import costs, steps

            settings = load_settings()
            run_costs = costs.run_costs(
                aws_client("sagemaker"), settings.region, task_results(context, JOB_TASKS)
            )
            outcome = steps.summarize(
                aws_client("s3"),
                run,
                model_name,
                postprocessed,
                model=model_for_batch(model, context["params"]),
                profile_uri=profile_uri,
            )
            with_alerts(context, outcome.value.get("drift_alerts", []))
            return with_metrics(context, costs.with_costs(outcome, run_costs))

        month = plan_month()
        wait_for_input = S3KeySensor(
            task_id="wait_for_input",
            bucket_key=month["input_pattern"],
            wildcard_match=True,
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            timeout=profile.input_timeout_seconds,
            pre_execute=prepare_sensor(profile.input_timeout_seconds),
        )
        requests = build_requests(month["data_month"])
        batch_transform = SageMakerTransformOperator(
            task_id="batch_transform",
            **pool_args(model, "batch_transform"),
            config=requests["transform_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(profile.max_runtime_seconds),
        )
        postprocess = SageMakerProcessingOperator(
            task_id="postprocess",
            **pool_args(model, "postprocess"),
            config=postprocess_request(
                requests["run"], batch_transform.output, requests["profile_uri"]
            ),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(profile.max_runtime_seconds),
        )
        summary = summarize(
            requests["run"], requests["model_name"], postprocess.output, requests["profile_uri"]
        )
        chain(wait_for_input, requests)
        chain(postprocess, summary)
    return dag


globals().update(generate_dags(KIND, build_dag))
