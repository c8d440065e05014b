"""What the local-backend tests share besides fixtures: the fixture image, the names every test
uses, request builders, and helpers to wait for SageMaker statuses and to check response bodies
against botocore's output shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
from botocore.validate import validate_parameters

from local.stack.services.sagemaker.images import ImageFolder

FIXTURE_IMAGE = ImageFolder(
    Path(__file__).resolve().parents[1] / "local" / "fixtures" / "fixture_image",
    {
        "train": "fixture_image.train",
        "process": "fixture_image.process",
        "serve": "fixture_image.serve",
    },
)
FIXTURE_IMAGE_URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tests/fixture:latest"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
BUCKET = "local-stack-tests"


def put_lines(s3: Any, key: str, records: list[dict[str, Any]]) -> str:
    """Write ``records`` as JSON Lines under ``key`` of the test bucket; return its s3:// URI."""
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(json.dumps(r) + "\n" for r in records))
    return f"s3://{BUCKET}/{key}"


def read_text(s3: Any, uri: str) -> str:
    """The text of the S3 object at ``uri``."""
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def wait_for(
    describe: Callable[[], dict[str, Any]],
    status_key: str,
    done: tuple[str, ...] = ("Completed", "Failed", "Stopped"),
    timeout: float = 90,
) -> dict[str, Any]:
    """Poll ``describe()`` until ``status_key`` is one of ``done``; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = describe()
        if answer[status_key] in done:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"still {answer[status_key]} after {timeout}s: {answer}")
        time.sleep(0.3)


def wait_for_container(stack: Any, job_name: str, timeout: float = 60) -> int:
    """Wait until the job's container process runs; return its pid."""
    backend = stack.service("sagemaker").backend
    deadline = time.monotonic() + timeout
    while (pid := backend.container_pid(job_name)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no container running for {job_name} after {timeout}s")
        time.sleep(0.2)
    return pid


def assert_valid_output(
    operation: str, response: dict[str, Any], service: str = "sagemaker"
) -> None:
    """The response body validates against botocore's output shape for ``operation``."""
    model = botocore.session.get_session().get_service_model(service)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    validate_parameters(body, model.operation_model(operation).output_shape)


def implemented_operations(prefixes: tuple[str, ...] = ("",)) -> list[str]:
    """The SageMaker operations the local backend routes (by botocore's name) that start with
    one of ``prefixes``."""
    from botocore import xform_name

    from local.stack.services.sagemaker import backend

    families = (
        backend.TrainingJobs,
        backend.ProcessingJobs,
        backend.TransformJobs,
        backend.TuningJobs,
        backend.Models,
        backend.EndpointConfigs,
        backend.Endpoints,
        backend.ModelRegistry,
        backend.Tags,
    )
    routed = {operation for family in families for operation in family.OPERATIONS}
    model = botocore.session.get_session().get_service_model("sagemaker")
    return sorted(
        op for op in model.operation_names if op.startswith(prefixes) and xform_name(op) in routed
    )


def training_request(
    name: str, hyperparameters: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A CreateTrainingJob request for the fixture image over the test bucket's train data."""
    request: dict[str, Any] = {
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


def processing_request(name: str, entrypoint: list[str], **overrides: Any) -> dict[str, Any]:
    """A CreateProcessingJob request running the fixture image's ``entrypoint``."""
    request = {
        "ProcessingJobName": name,
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 5,
            }
        },
        "AppSpecification": {"ImageUri": FIXTURE_IMAGE_URI, "ContainerEntrypoint": entrypoint},
        "RoleArn": ROLE,
        "Environment": {"COUNTRY": "de"},
        "ProcessingInputs": [
            {
                "InputName": "labeled",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/processing/de/2025-01/labeled/",
                    "LocalPath": "/opt/ml/processing/input/labeled",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "copy",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/processing-out/{name}/copy",
                        "LocalPath": "/opt/ml/processing/output/copy",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": "alias/mlops",
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    request.update(overrides)
    return request


def tuning_request(
    name: str, strategy: str, ranges: dict[str, Any], max_jobs: int, parallel: int = 2
) -> dict[str, Any]:
    """A CreateHyperParameterTuningJob request over the fixture image's training."""
    definition = training_request("unused")
    definition.pop("TrainingJobName")
    definition["StaticHyperParameters"] = definition.pop("HyperParameters") or {"tag": "tuned"}
    algorithm = definition["AlgorithmSpecification"]
    definition["AlgorithmSpecification"] = {
        "TrainingImage": algorithm["TrainingImage"],
        "TrainingInputMode": "File",
        "MetricDefinitions": algorithm["MetricDefinitions"],
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:macro_f1",
            },
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": ranges,
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
    }
