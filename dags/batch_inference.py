"""
### batch_inference__&lt;cc&gt; — score the month's unlabeled products with the winner

On the country's cron (monthly by default); also manual with a `data_month` param.

1. **plan_month** — the month (param, else the month before the run's data interval end, or
   before now) and where its input is.
2. **wait_for_input** — deferrable S3 sensor for `<cc>/<YYYY-MM>/unlabeled/*`.
3. **build_requests** — the winner from the DynamoDB winners table → transform request.
4. **batch_transform** — SageMaker batch transform with the winner's model.
5. **postprocess** — processing job `postprocess`: ids, confidence, `needs_review` for low
   confidence → `<cc>/<YYYY-MM>/predictions/` (KMS).
6. **summarize** — rows and items flagged for review, for the notification.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTransformOperator,
)
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG, chain, get_parsing_context, task
from mlops.config import Country, countries_to_generate
from mlops.notifications import METRICS_XCOM_KEY, on_success
from mlops.wiring import (
    AWS_CONN_ID,
    country_dag,
    month_param,
    waits,
)


def build_dag(country: Country) -> DAG:
    cc = country.code
    profile = country.batch_inference

    with country_dag(
        "batch_inference",
        country,
        schedule=profile.schedule,
        doc_md=__doc__,
        description=f"Monthly batch predictions for {cc.upper()} with the current winner",
        data_month=month_param("unlabeled"),
    ) as dag:

        @task(multiple_outputs=True)
        def plan_month(**context) -> dict:
            from mlops.config import get_country
            from mlops.sagemaker_requests import s3_uri
            from mlops.settings import load_settings
            from mlops.wiring import previous_month, run_moment

            settings = load_settings()
            month = context["params"]["data_month"] or previous_month(run_moment(context))
            prefix = get_country(cc).prefix
            return {
                "data_month": month,
                "input_pattern": s3_uri(settings.data_bucket, prefix, month, "unlabeled") + "*",
            }

        @task(multiple_outputs=True)
        def build_requests(data_month: str, **context) -> dict:
            from mlops.config import get_country
            from mlops.sagemaker_requests import batch_transform_request
            from mlops.settings import load_settings
            from mlops.winners import WinnersRegistry
            from mlops.wiring import run_identity, winners_table

            settings = load_settings()
            winner = WinnersRegistry(winners_table(settings.winners_table)).current(cc)
            if winner is None:
                raise RuntimeError(
                    f"batch_inference__{cc}: no winner in table {settings.winners_table}; "
                    f"run train__{cc} and evaluate__{cc} first"
                )
            run = run_identity(context, data_month, settings.code_version)
            return {
                "run": run.as_dict(),
                "model_name": winner["model_name"],
                "transform": batch_transform_request(
                    settings, get_country(cc), run, model_name=winner["model_name"]
                ),
            }

        @task
        def postprocess_config(run: dict, transformed: dict) -> dict:
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import postprocess_request
            from mlops.settings import load_settings

            return postprocess_request(
                load_settings(),
                get_country(cc),
                RunIdentity(**run),
                predictions_uri=transformed["Transform"]["TransformOutput"]["S3OutputPath"],
            )

        @task(on_success_callback=on_success("summarize"))
        def summarize(run: dict, model_name: str, postprocessed: dict, **context) -> dict:
            import json

            from mlops.sagemaker_requests import processing_outputs
            from mlops.wiring import read_s3_text

            outputs = processing_outputs(postprocessed["Processing"])
            summary = json.loads(read_s3_text(outputs["summary"] + "summary.json"))
            context["ti"].xcom_push(
                key=METRICS_XCOM_KEY,
                value={
                    "data_month": run["data_month"],
                    "model_name": model_name,
                    "rows": summary.get("rows"),
                    "needs_review": summary.get("needs_review"),
                    "predictions": outputs["predictions"],
                },
            )
            return summary

        month = plan_month()
        wait_for_input = S3KeySensor(
            task_id="wait_for_input",
            bucket_key=month["input_pattern"],
            wildcard_match=True,
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            timeout=profile.input_timeout_seconds,
            pre_execute=waits(profile.input_timeout_seconds),
        )
        requests = build_requests(month["data_month"])
        batch_transform = SageMakerTransformOperator(
            task_id="batch_transform",
            config=requests["transform"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(profile.max_runtime_seconds),
        )
        postprocess = SageMakerProcessingOperator(
            task_id="postprocess",
            config=postprocess_config(requests["run"], batch_transform.output),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(profile.max_runtime_seconds),
        )
        summary = summarize(requests["run"], requests["model_name"], postprocess.output)
        chain(wait_for_input, requests)
        chain(postprocess, summary)
    return dag


for _country in countries_to_generate("batch_inference", get_parsing_context().dag_id):
    globals()[f"batch_inference__{_country.code}"] = build_dag(_country)
