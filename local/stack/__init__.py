"""The embedded local AWS + SageMaker backend on one loopback port.

    with LocalStack(port=0, workdir=tmp) as stack:
        boto3.client("sagemaker", endpoint_url=stack.endpoint_url, ...)

Another AWS service is added with one call in a module under ``local/stack/services/``:
``register_service("airflow", make_app)`` (see ``local/stack/server.py``).
"""

from local.stack.server import LocalStack, register_service

__all__ = ["LocalStack", "register_service"]
