"""
### deploy__&lt;model&gt; — serve the model's winner on its real-time endpoint

DAG ids: `deploy__<cc>` for a country's default model, `deploy__<cc>__<scheme>` for a scheme's.
Manual (GitLab → trigger Lambda after approval, or the UI), or scheduled on the model's winner
asset when the model sets `endpoint.auto_deploy`.

1. **build_requests** — the model version: the `model_package_arn` param or the current winner
   from the DynamoDB winners table, Approved in the registry either way (a Pending or Rejected
   version stops the run naming it and its status); builds the endpoint config request.
2. **create_endpoint_config** — data capture to S3 with KMS, KMS on the instance volume.
3. **endpoint_request** → **deploy_endpoint** — create the endpoint, or update it in place
   (blue/green canary traffic shifting with auto-rollback alarms when the model configures them).
4. **verify_endpoint** — the endpoint must be InService *on the new config*: after an automatic
   rollback SageMaker is InService on the old one, and this task fails saying so.
5. **smoke_test** — one sample record through sagemaker-runtime InvokeEndpoint.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
)
from airflow.sdk import DAG, chain, task

# mlops.steps (the task bodies) is imported inside the tasks: parsing only builds the graph.
from mlops.aws import AWS_CONN_ID, aws_client, aws_resource
from mlops.config import Model
from mlops.dag_factory import generate_dags, model_dag, winner_asset
from mlops.notifications import on_success, with_metrics
from mlops.operator_hooks import prepare_sagemaker_task
from mlops.params import airflow_params, model_for_deploy
from mlops.pools import pool_args
from mlops.settings import load_settings

KIND = "deploy"


def build_dag(model: Model) -> DAG:
    with model_dag(
        KIND,
        model,
        schedule=winner_asset(model) if model.endpoint.auto_deploy else None,
        doc_md=__doc__,
        description=f"Deploy the {model.label} winner to its SageMaker endpoint",
        **airflow_params(KIND, model),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context: Any) -> dict[str, Any]:
            from mlops import steps

            return steps.plan_deployment(
                aws_client("sagemaker"),
                aws_resource("dynamodb"),
                load_settings(),
                model,
                run_id=context["run_id"],
                package_arn=context["params"]["model_package_arn"],
            )

        @task
        def endpoint_request(
            run: dict[str, Any], created: dict[str, Any], **context: Any
        ) -> dict[str, Any]:
            from mlops import steps

            return steps.endpoint_request_after_config(
                load_settings(), model_for_deploy(model, context["params"]), run, created
            )

        @task
        def verify_endpoint(created: dict[str, Any], deployed: dict[str, Any]) -> dict[str, Any]:
            from mlops import steps

            return steps.verify_endpoint(aws_client("sagemaker"), created, deployed)

        @task(on_success_callback=on_success("smoke_test"))
        def smoke_test(
            invocation: dict[str, Any], verified: dict[str, Any], model_name: str, **context: Any
        ) -> dict[str, Any]:
            from mlops import steps

            outcome = steps.smoke_test(
                aws_client("sagemaker-runtime"), invocation, verified, model_name
            )
            return with_metrics(context, outcome)

        requests = build_requests()
        create_endpoint_config = SageMakerEndpointConfigOperator(
            task_id="create_endpoint_config",
            **pool_args(model, "create_endpoint_config"),
            config=requests["endpoint_config_request"],
            aws_conn_id=AWS_CONN_ID,
            pre_execute=prepare_sagemaker_task(60, rename_field="EndpointConfigName"),
        )
        deploy_endpoint = SageMakerEndpointOperator(
            task_id="deploy_endpoint",
            **pool_args(model, "deploy_endpoint"),
            config=endpoint_request(requests["run"], create_endpoint_config.output),
            operation="create",  # the operator updates in place when the endpoint exists
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=prepare_sagemaker_task(model.endpoint.max_runtime_seconds),
        )
        verified = verify_endpoint(create_endpoint_config.output, deploy_endpoint.output)
        chain(verified, smoke_test(requests["invocation"], verified, requests["model_name"]))
    return dag


globals().update(generate_dags(KIND, build_dag))
