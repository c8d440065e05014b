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


def aws_resource(service: str) -> Any:
    """A boto3 service resource (``dynamodb``) from the Airflow connection."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, resource_type=service).get_conn()
