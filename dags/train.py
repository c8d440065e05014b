"""
### train__&lt;cc&gt; — train a challenger model for one country

1. **build_requests** — settings (Variable `mlops_settings`), the country's config and the run
   identity → the prepare request.
2. **prepare_data** — processing job `prepare`: validate and split `<cc>/<YYYY-MM>/labeled/`.
3. **tune** — hyperparameter tuning over the training image on the country's instance type
   (GPU, Trainium or CPU), maximising `validation:macro_f1`.
4. **train_model** — final training job with the best hyperparameters.
5. **create_model** — SageMaker Model with the inference image.
6. **register_model_version** — Model Registry version (PendingManualApproval) and the
   `mlops://challenger/<cc>` asset event (extra: model package ARN, model name, data month,
   test-set URIs), which schedules `evaluate__<cc>`.

Params: `data_month` (YYYY-MM; default: the month before the run's data interval end, or before
now for a manual run). Names of jobs and artifacts flow downstream through XCom.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator,
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
)
from airflow.sdk import DAG, chain, get_parsing_context, task
from mlops.config import Country, countries_to_generate
from mlops.notifications import METRICS_XCOM_KEY, on_success
from mlops.sagemaker_requests import tuning_max_runtime
from mlops.wiring import (
    AWS_CONN_ID,
    challenger_asset,
    country_dag,
    month_param,
    waits,
)


def build_dag(country: Country) -> DAG:
    cc = country.code
    training_runtime = country.training.max_wait_seconds or country.training.max_runtime_seconds

    with country_dag(
        "train",
        country,
        schedule=None,
        doc_md=__doc__,
        description=f"Train a {country.training.algorithm} challenger for {cc.upper()} "
        f"on {country.training.instance_type}",
        data_month=month_param("labeled"),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context) -> dict:
            from mlops.config import get_country
            from mlops.sagemaker_requests import prepare_request
            from mlops.settings import load_settings
            from mlops.wiring import previous_month, run_identity, run_moment

            settings = load_settings()
            month = context["params"]["data_month"] or previous_month(run_moment(context))
            run = run_identity(context, month, settings.code_version)
            return {
                "run": run.as_dict(),
                "prepare": prepare_request(settings, get_country(cc), run),
            }

        @task
        def tuning_config(run: dict, prepared: dict) -> dict:
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import processing_outputs, tuning_request
            from mlops.settings import load_settings

            outputs = processing_outputs(prepared["Processing"])
            return tuning_request(
                load_settings(),
                get_country(cc),
                RunIdentity(**run),
                outputs["train"],
                outputs["validation"],
            )

        @task
        def training_config(run: dict, prepared: dict, tuned: dict) -> dict:
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import (
                best_hyperparameters,
                processing_outputs,
                training_request,
            )
            from mlops.settings import load_settings

            outputs = processing_outputs(prepared["Processing"])
            return training_request(
                load_settings(),
                get_country(cc),
                RunIdentity(**run),
                outputs["train"],
                outputs["validation"],
                best_hyperparameters(tuned["Tuning"]),
            )

        @task
        def model_config(run: dict, trained: dict) -> dict:
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import model_request
            from mlops.settings import load_settings

            artifacts = trained["Training"]["ModelArtifacts"]["S3ModelArtifacts"]
            return model_request(load_settings(), get_country(cc), RunIdentity(**run), artifacts)

        @task(
            outlets=[challenger_asset(cc)], on_success_callback=on_success("register_model_version")
        )
        def register_model_version(
            run: dict, prepared: dict, trained: dict, model: dict, **context
        ) -> dict:
            from mlops.config import get_country
            from mlops.model_registry import register_model_version as register
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import model_package_request, processing_outputs
            from mlops.settings import load_settings
            from mlops.wiring import aws_client

            settings = load_settings()
            training = trained["Training"]
            outputs = processing_outputs(prepared["Processing"])
            metrics = {
                item["MetricName"]: float(item["Value"])
                for item in training.get("FinalMetricDataList") or []
            }
            request = model_package_request(
                settings,
                get_country(cc),
                RunIdentity(**run),
                model_data_url=training["ModelArtifacts"]["S3ModelArtifacts"],
                model_name=model["Model"]["ModelName"],
                training_job_name=training["TrainingJobName"],
                test_features_uri=outputs["test_features"],
                test_labels_uri=outputs["test_labels"],
                metrics=metrics,
            )
            package_arn = register(aws_client("sagemaker"), request)
            challenger = {
                "country": cc,
                "model_package_arn": package_arn,
                "model_name": model["Model"]["ModelName"],
                "data_month": run["data_month"],
                "test_features_uri": outputs["test_features"],
                "test_labels_uri": outputs["test_labels"],
                "training_job_name": training["TrainingJobName"],
            }
            context["outlet_events"][challenger_asset(cc)].extra = challenger
            context["ti"].xcom_push(
                key=METRICS_XCOM_KEY,
                value={"model_package_arn": package_arn, "data_month": run["data_month"]} | metrics,
            )
            return challenger

        requests = build_requests()
        prepare_data = SageMakerProcessingOperator(
            task_id="prepare_data",
            config=requests["prepare"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(country.processing.max_runtime_seconds),
        )
        tune = SageMakerTuningOperator(
            task_id="tune",
            config=tuning_config(requests["run"], prepare_data.output),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(tuning_max_runtime(country), "HyperParameterTuningJobName"),
        )
        train_model = SageMakerTrainingOperator(
            task_id="train_model",
            config=training_config(requests["run"], prepare_data.output, tune.output),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(training_runtime),
        )
        create_model = SageMakerModelOperator(
            task_id="create_model",
            config=model_config(requests["run"], train_model.output),
            aws_conn_id=AWS_CONN_ID,
            pre_execute=waits(60, "ModelName"),
        )
        register = register_model_version(
            requests["run"], prepare_data.output, train_model.output, create_model.output
        )
        chain(requests, prepare_data, tune, train_model, create_model, register)
    return dag


for _country in countries_to_generate("train", get_parsing_context().dag_id):
    globals()[f"train__{_country.code}"] = build_dag(_country)
