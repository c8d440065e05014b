"""One stack for the whole local-backend test session (moto keeps its state per process), with
a tiny fixture image the tests control, and helpers to wait for SageMaker statuses and check
response bodies against botocore's output shapes."""

import json
import time
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.validate import validate_parameters

from local.stack import LocalStack
from local.stack.services.sagemaker.images import ImageFolder

FIXTURE_IMAGE = ImageFolder(
    Path(__file__).parent / "fixtures" / "fixture_image",
    {
        "train": "fixture_image.train",
        "process": "fixture_image.process",
        "serve": "fixture_image.serve",
    },
)
FIXTURE_IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tests/fixture:latest"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
BUCKET = "local-stack-tests"


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


def put_lines(s3, key: str, records: list[dict]) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(json.dumps(r) + "\n" for r in records))
    return f"s3://{BUCKET}/{key}"


def read_text(s3, uri: str) -> str:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def wait_for(describe, status_key: str, done=("Completed", "Failed", "Stopped"), timeout=90):
    """Poll ``describe()`` until ``status_key`` is one of ``done``; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = describe()
        if answer[status_key] in done:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still {answer[status_key]} after {timeout}s: {answer}")
        time.sleep(0.3)


def wait_for_container(stack, job_name: str, timeout=60) -> int:
    """Wait until the job's container process runs; return its pid."""
    backend = stack.service("sagemaker").backend
    deadline = time.monotonic() + timeout
    while (pid := backend.container_pid(job_name)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no container running for {job_name} after {timeout}s")
        time.sleep(0.2)
    return pid


def assert_valid_output(operation: str, response: dict, service: str = "sagemaker") -> None:
    """The response body validates against botocore's output shape for ``operation``."""
    model = botocore.session.get_session().get_service_model(service)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    validate_parameters(body, model.operation_model(operation).output_shape)


def training_request(name: str, hyperparameters: dict | None = None, **overrides) -> dict:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": FIXTURE_IMAGE_URI,
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:macro_f1", "Regex": "validation:macro_f1=([0-9.]+);"},
                {"Name": "train:loss", "Regex": "train:loss=([0-9.]+);"},
            ],
        },
        "RoleArn": ROLE,
        "HyperParameters": hyperparameters or {},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/data/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "application/jsonlines",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {
            "InstanceType": "ml.g5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(overrides)
    return request


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
