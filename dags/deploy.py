"""
### deploy__&lt;cc&gt; — serve the country's winner on its real-time endpoint

Manual (GitLab → trigger Lambda after approval, or the UI), or scheduled on the
`mlops://winner/<cc>` asset when the country sets `endpoint.auto_deploy`.

1. **build_requests** — the model: the `model_package_arn` param (must be Approved) or the current
   winner from the DynamoDB winners table; builds the endpoint config request.
2. **create_endpoint_config** — data capture to S3 with KMS, KMS on the instance volume.
3. **deploy_endpoint** — create the endpoint, or update it in place (blue/green canary traffic
   shifting with auto-rollback alarms when the country configures them).
4. **verify_endpoint** — the endpoint must be InService *on the new config*: after an automatic
   rollback SageMaker is InService on the old one, and this task fails saying so.
5. **smoke_test** — one sample record through sagemaker-runtime InvokeEndpoint.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
)
from airflow.sdk import DAG, chain, get_parsing_context, task
from mlops.config import Country, countries_to_generate
from mlops.notifications import METRICS_XCOM_KEY, on_success
from mlops.wiring import (
    AWS_CONN_ID,
    asset_ref,
    country_dag,
    model_package_param,
    waits,
    winner_asset,
)


def build_dag(country: Country) -> DAG:
    cc = country.code

    with country_dag(
        "deploy",
        country,
        schedule=asset_ref(winner_asset(cc)) if country.endpoint.auto_deploy else None,
        doc_md=__doc__,
        description=f"Deploy the {cc.upper()} winner to its SageMaker endpoint",
        model_package_arn=model_package_param(
            "an Approved version of the country's group; empty: the current winner"
        ),
    ) as dag:

        @task(multiple_outputs=True)
        def build_requests(**context) -> dict:
            from mlops.config import get_country
            from mlops.model_registry import ModelRegistryError, describe_candidate
            from mlops.sagemaker_requests import endpoint_config_request, smoke_invocation
            from mlops.settings import load_settings
            from mlops.winners import WinnersRegistry
            from mlops.wiring import aws_client, run_identity, winners_table

            settings = load_settings()
            country_config = get_country(cc)
            package_arn = context["params"]["model_package_arn"]
            if package_arn:
                model = describe_candidate(aws_client("sagemaker"), package_arn)
                if model["approval_status"] != "Approved":
                    raise ModelRegistryError(
                        f"deploy__{cc}: model package {package_arn} is "
                        f"{model['approval_status']}, only Approved versions are deployed"
                    )
            else:
                model = WinnersRegistry(winners_table(settings.winners_table)).current(cc)
                if model is None:
                    raise ModelRegistryError(
                        f"deploy__{cc}: no winner in table {settings.winners_table} yet; "
                        f"run evaluate__{cc} first or pass model_package_arn"
                    )
            run = run_identity(context, model["data_month"], settings.code_version)
            return {
                "run": run.as_dict(),
                "model_name": model["model_name"],
                "model_package_arn": model["model_package_arn"],
                "endpoint_config": endpoint_config_request(
                    settings, country_config, run, model_name=model["model_name"]
                ),
                "invocation": smoke_invocation(settings, country_config),
            }

        @task
        def endpoint_config(run: dict, created: dict) -> dict:
            from mlops.config import get_country
            from mlops.naming import RunIdentity
            from mlops.sagemaker_requests import endpoint_request
            from mlops.settings import load_settings

            return endpoint_request(
                load_settings(),
                get_country(cc),
                RunIdentity(**run),
                endpoint_config_name=created["EndpointConfig"]["EndpointConfigName"],
            )

        @task
        def verify_endpoint(created: dict, deployed: dict) -> dict:
            from mlops.hosting import check_serves_new_config
            from mlops.wiring import aws_client

            expected = created["EndpointConfig"]["EndpointConfigName"]
            name = deployed["Endpoint"]["EndpointName"]
            description = aws_client("sagemaker").describe_endpoint(EndpointName=name)
            check_serves_new_config(description, expected)
            return {"endpoint_name": name, "endpoint_config_name": expected}

        @task(on_success_callback=on_success("smoke_test"))
        def smoke_test(invocation: dict, verified: dict, model_name: str, **context) -> dict:
            from mlops.hosting import smoke_prediction
            from mlops.wiring import aws_client

            response = aws_client("sagemaker-runtime").invoke_endpoint(**invocation)
            prediction = smoke_prediction(invocation["EndpointName"], response["Body"].read())
            context["ti"].xcom_push(
                key=METRICS_XCOM_KEY,
                value={
                    "endpoint": verified["endpoint_name"],
                    "endpoint_config": verified["endpoint_config_name"],
                    "model_name": model_name,
                    "smoke_label": prediction["label"],
                    "smoke_confidence": float(prediction.get("confidence", 0.0)),
                },
            )
            return prediction

        requests = build_requests()
        create_endpoint_config = SageMakerEndpointConfigOperator(
            task_id="create_endpoint_config",
            config=requests["endpoint_config"],
            aws_conn_id=AWS_CONN_ID,
            pre_execute=waits(60, "EndpointConfigName"),
        )
        deploy_endpoint = SageMakerEndpointOperator(
            task_id="deploy_endpoint",
            config=endpoint_config(requests["run"], create_endpoint_config.output),
            operation="create",  # the operator updates in place when the endpoint exists
            aws_conn_id=AWS_CONN_ID,
            deferrable=True,
            pre_execute=waits(country.endpoint.max_runtime_seconds),
        )
        verified = verify_endpoint(create_endpoint_config.output, deploy_endpoint.output)
        chain(verified, smoke_test(requests["invocation"], verified, requests["model_name"]))
    return dag


for _country in countries_to_generate("deploy", get_parsing_context().dag_id):
    globals()[f"deploy__{_country.code}"] = build_dag(_country)
