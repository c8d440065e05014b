"""
### train__&lt;model&gt; — train a challenger for one model (a country, or one of its schemes)

DAG ids: `train__<cc>` for a country's default model, `train__<cc>__<scheme>` for a scheme's.

1. **build_requests** — settings (Variable `mlops_settings`), the model's config and the run
   identity → the prepare request, with the data gates' thresholds (`gates:` of the model) and
   the drift reference (the training profile of the model's current winner, if any).
2. **prepare_data** — processing job `prepare`: validate, gate and split
   `<prefix>/<YYYY-MM>/labeled/`. Malformed data or a failed data gate fails the job (its
   FailureReason lists the reasons, and the failure notification shows them): nothing
   downstream starts, no training is paid for.
3. **tuning_request** → **tune** — hyperparameter tuning over the training image on the model's
   instance type (GPU, Trainium or CPU), maximising `validation:macro_f1`.
4. **training_request** → **train_model** — final training job with the best hyperparameters.
5. **model_request** → **create_model** — SageMaker Model with the inference image.
6. **register_model_version** — Model Registry version (PendingManualApproval; its metadata
   carries the training data's `profile_uri`) and the challenger asset event
   (`mlops://challenger/<cc>[/<scheme>]`; extra: model package ARN, model name, data month,
   test-set URIs), which schedules the model's evaluate DAG. The success notification shows
   the data gates' summary and what the run's SageMaker jobs cost (prepare, the tuning job's
   training jobs, the final training job: billable seconds and estimated USD, `mlops.costs`);
   the task's XCom holds them under `costs`.

Params (`mlops.params`): `data_month` (YYYY-MM; default: the month before the run's data interval
end, or before now for a manual run); `hyperparameters` (given: tune is skipped and the training
job uses them); `hpo_max_jobs`, `hpo_max_parallel_jobs` (the tuning budget); `instance_type` (of
the model's accelerator family). Names of jobs and artifacts flow downstream through XCom.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator,
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
    SageMakerTuningOperator,
)
from airflow.sdk import DAG, chain, task

# mlops.steps (the task bodies) is imported inside the tasks: parsing only builds the graph.
from mlops.aws import AWS_CONN_ID, aws_client, aws_resource
from mlops.config import Model
from mlops.dag_factory import (
    challenger_asset,
    generate_dags,
    landing_schedule,
    model_dag,
)
from mlops.downstream import report_paused_downstream
from mlops.notifications import on_success, with_metrics
from mlops.operator_hooks import prepare_sagemaker_task
from mlops.params import airflow_params, given_hyperparameters, model_for_train
from mlops.pools import pool_args
from mlops.run_context import data_month, month_or_skip, task_results, triggering_extras
from mlops.sagemaker_requests import tuning_max_runtime
from mlops.settings import load_settings

KIND = "train"
# The tasks whose SageMaker jobs the run's costs count (tune: its training jobs).
JOB_TASKS = ("prepare_data", "tune", "train_model")


def build_dag(model: Model) -> DAG:
    challenger = challenger_asset(model)

    with model_dag(
        KIND,
        model,
        schedule=landing_schedule(model, "labeled", model.training.schedule),
        doc_md=__doc__,
        description=f"Train a {model.training.algorithm} challenger for {model.label} "
        f"on {model.training.instance_type}",
        **airflow_params(KIND, model),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context: Any) -> dict[str, Any]:
            from mlops import steps

            settings = load_settings()
            param = context["params"]["data_month"]
            chosen = steps.run_month(
                model,
                "labeled",
                settings.data_bucket,
                param=param,
                extras=triggering_extras(context),
                fallback=data_month("", context),
            )
            if not param:  # nobody asked for this month: a duplicate event or cron run skips
                chosen = steps.fallback_landed(aws_client("s3"), settings, model, chosen, "labeled")
                chosen = steps.training_month(aws_client("sagemaker"), settings, model, chosen)
            return steps.plan_training(
                settings,
                model,
                run_id=context["run_id"],
                data_month=month_or_skip(chosen),
                dynamodb=aws_resource("dynamodb"),
            )

        # Given hyperparameters (param) skip tuning: no request, so tune is skipped.
        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def tuning_request(
            run: dict[str, Any], prepared: dict[str, Any], **context: Any
        ) -> dict[str, Any] | None:
            from mlops import steps

            params = context["params"]
            return steps.tuning_request_after_prepare(
                load_settings(),
                model_for_train(model, params),
                run,
                prepared,
                hyperparameters=given_hyperparameters(params),
            )

        # Runs when tune was skipped for given hyperparameters, not when the whole run skipped at
        # its first task (a replayed marker, an s3:TestEvent): that needs one upstream success.
        @task(trigger_rule="none_failed_min_one_success")
        def training_request(
            run: dict[str, Any], prepared: dict[str, Any], tuned: dict[str, Any] | None, **context
        ) -> dict[str, Any]:
            from mlops import steps

            params = context["params"]
            return steps.training_request_after_tuning(
                load_settings(),
                model_for_train(model, params),
                run,
                prepared,
                tuned,
                hyperparameters=given_hyperparameters(params),
            )

        @task
        def model_request(run: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
            from mlops import steps

            return steps.model_request_after_training(load_settings(), model, run, trained)

        @task(outlets=[challenger], on_success_callback=on_success("register_model_version"))
        def register_model_version(
            run: dict[str, Any],
            prepared: dict[str, Any],
            trained: dict[str, Any],
            created: dict[str, Any],
            **context: Any,
        ) -> dict[str, Any]:
            from mlops import costs, steps

            settings = load_settings()
            # First: a malformed price table fails the task before the version is registered.
            run_costs = costs.run_costs(
                aws_client("sagemaker"), settings.region, task_results(context, JOB_TASKS)
            )
            outcome = steps.register_challenger(
                aws_client("sagemaker"),
                settings,
                model,
                run,
                prepared,
                trained,
                created,
                s3=aws_client("s3"),
            )
            context["outlet_events"][challenger].extra = outcome.value
            conf = {"model_package_arn": outcome.value["model_package_arn"]}
            report_paused_downstream(context, model, "evaluate", challenger.uri, conf)
            return with_metrics(context, costs.with_costs(outcome, run_costs))

        requests = build_requests()
        prepare_data = SageMakerProcessingOperator(
            task_id="prepare_data",
            **pool_args(model, "prepare_data"),
            config=requests["prepare_request"],
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(model.processing.max_runtime_seconds),
        )
        tune = SageMakerTuningOperator(
            task_id="tune",
            **pool_args(model, "tune"),
            config=tuning_request(requests["run"], prepare_data.output),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(
                tuning_max_runtime(model), rename_field="HyperParameterTuningJobName"
            ),
        )
        train_model = SageMakerTrainingOperator(
            task_id="train_model",
            **pool_args(model, "train_model"),
            config=training_request(requests["run"], prepare_data.output, tune.output),
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(
                model.training.max_wait_seconds or model.training.max_runtime_seconds
            ),
        )
        create_model = SageMakerModelOperator(
            task_id="create_model",
            **pool_args(model, "create_model"),
            config=model_request(requests["run"], train_model.output),
            aws_conn_id=AWS_CONN_ID,
            pre_execute=prepare_sagemaker_task(60, rename_field="ModelName"),
        )
        registered = register_model_version(
            requests["run"], prepare_data.output, train_model.output, create_model.output
        )
        # train_model follows tune through training_request (which runs when tune is skipped).
        chain(requests, prepare_data, tune)
        chain(train_model, create_model, registered)
    return dag


globals().update(generate_dags(KIND, build_dag))
