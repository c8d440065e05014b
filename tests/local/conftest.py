"""Fixtures of the local-backend suite: one stack for the whole session (moto keeps its state per
process) serving the fixture image, and clients on it. Shared helpers and names live in
``tests.support.local_stack``."""

import os

import boto3
import pytest
from botocore.config import Config

from local.stack import LocalStack
from local.stack.services.sagemaker.responses import CHECK_OUTPUT_VARIABLE
from tests.support.local_stack import BUCKET, FIXTURE_IMAGE, put_lines

# Every SageMaker answer in this suite is checked against botocore's output shape by the stack
# itself (a misfit answers 500 naming it), whichever test made the call.
os.environ[CHECK_OUTPUT_VARIABLE] = "1"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with LocalStack(
        port=0,
        workdir=tmp_path_factory.mktemp("stack"),
        extra_images={"fixture": FIXTURE_IMAGE},
        stop_grace_seconds=2,
    ) as running:
        s3 = running.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": running.region}
        )
        yield running


@pytest.fixture(scope="session")
def sagemaker(stack):
    return stack.client("sagemaker")


@pytest.fixture(scope="session")
def s3(stack):
    return stack.client("s3")


@pytest.fixture(scope="session")
def training_data(s3):
    return put_lines(s3, "data/train/part-0.jsonl", [{"item_id": str(i)} for i in range(5)])


@pytest.fixture(scope="session")
def unvalidated(stack):
    """A client that skips boto3's own validation, so requests reach the server as sent."""
    return boto3.client(
        "sagemaker",
        endpoint_url=stack.endpoint_url,
        region_name=stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False),
    )
