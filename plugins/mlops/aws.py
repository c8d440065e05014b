"""AWS handles for tasks at run time, through the Airflow connection ``aws_default``.

On MWAA the connection carries no keys (the execution role answers); locally it carries the local
stack's ``endpoint_url``. Provider modules are imported inside the functions: DAG files import
this module at parse time for ``AWS_CONN_ID`` only.
"""

from __future__ import annotations

from typing import Any

AWS_CONN_ID = "aws_default"


def aws_client(service: str) -> Any:
    """A boto3 client for ``service`` from the Airflow connection."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, client_type=service).get_conn()


# botocore's standard retry mode for the resources (the winners tables): throttled and
# transient requests are retried with jittered backoff. The connection's own ``config_kwargs``
# win where they set the same option. botocore never retries a cancelled transaction: the
# winners registry does that itself (mlops.winners).
RESOURCE_RETRIES = {"mode": "standard", "max_attempts": 5}


def aws_resource(service: str) -> Any:
    """A boto3 service resource (``dynamodb``) from the Airflow connection, with retries."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    hook = AwsBaseHook(aws_conn_id=AWS_CONN_ID, resource_type=service)
    config = Config(retries=dict(RESOURCE_RETRIES)).merge(hook.config)
    return hook.get_resource_type(region_name=hook.region_name, config=config)
