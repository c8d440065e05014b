"""What SageMaker needs beyond botocore's input shapes, and what the local stack refuses rather
than run differently: a 400 ValidationException naming the member, answered once (no retry),
before any job exists."""

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import (
    BUCKET,
    FIXTURE_IMAGE_URI,
    ROLE,
    assert_valid_output,
    processing_request,
    training_request,
    tuning_request,
    wait_for,
)


def refused(call, **request) -> dict:
    """The error of a request the stack must refuse with a ValidationException, sent once."""
    with pytest.raises(ClientError) as raised:
        call(**request)
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["Error"]["Code"] == "ValidationException"
    return response["Error"]


def without(request: dict, key: str) -> dict:
    return {k: v for k, v in request.items() if k != key}


@pytest.mark.parametrize("member", ["AlgorithmSpecification", "ResourceConfig"])
def test_a_training_job_without_a_member_the_service_needs_is_refused_naming_it(sagemaker, member):
    name = f"rules-no-{member.lower()}"
    error = refused(sagemaker.create_training_job, **without(training_request(name), member))
    assert f"'CreateTrainingJob.{member}'" in error["Message"]
    assert "must not be null" in error["Message"]
    listed = sagemaker.list_training_jobs(NameContains=name)["TrainingJobSummaries"]
    assert listed == []


def test_a_marketplace_algorithm_is_refused_as_having_no_local_counterpart(sagemaker):
    request = training_request("rules-marketplace")
    request["AlgorithmSpecification"] = {
        "AlgorithmName": "arn:aws:sagemaker:eu-west-1:123456789012:algorithm/xgb",
        "TrainingInputMode": "File",
    }
    error = refused(sagemaker.create_training_job, **request)
    assert "AlgorithmSpecification.TrainingImage" in error["Message"]
    assert "AWS Marketplace" in error["Message"]


def test_a_training_job_without_stopping_condition_gets_sagemakers_one_day_limit(
    sagemaker, training_data
):
    name = "rules-no-stopping"
    sagemaker.create_training_job(**without(training_request(name), "StoppingCondition"))
    job = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus"
    )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert_valid_output("DescribeTrainingJob", job)


def _pipe_training() -> dict:
    request = training_request("rules-pipe")
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    return request


def _fast_file_channel() -> dict:
    request = training_request("rules-fastfile")
    request["InputDataConfig"][0]["InputMode"] = "FastFile"
    return request


def _manifest_channel() -> dict:
    request = training_request("rules-manifest")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3DataType"] = "ManifestFile"
    return request


def _gzip_channel() -> dict:
    request = training_request("rules-gzip")
    request["InputDataConfig"][0]["CompressionType"] = "Gzip"
    return request


def _pipe_processing() -> dict:
    request = processing_request("rules-proc-pipe", ["process"])
    request["ProcessingInputs"][0]["S3Input"]["S3InputMode"] = "Pipe"
    return request


def _tuning_without_resources() -> dict:
    request = tuning_request("rules-tune", "Random", {}, max_jobs=1)
    del request["TrainingJobDefinition"]["ResourceConfig"]
    return request


def _tuning_with_pipe() -> dict:
    request = tuning_request("rules-tune-pipe", "Random", {}, max_jobs=1)
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
    return request


def _transform(**changes) -> dict:
    request = {
        "TransformJobName": "rules-transform",
        "ModelName": "rules-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/x"}},
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in changes.items():
        if key == "SplitType":
            request["TransformInput"]["SplitType"] = value
        else:
            request[key] = value
    return request


CONTAINER = {"Image": FIXTURE_IMAGE_URI}
VARIANT = {
    "VariantName": "AllTraffic",
    "ModelName": "rules-model",
    "InitialInstanceCount": 1,
    "InstanceType": "ml.m5.large",
}
REFUSED = [
    ("create_training_job", _pipe_training, "TrainingInputMode='Pipe'"),
    ("create_training_job", _fast_file_channel, "InputDataConfig[0].InputMode='FastFile'"),
    ("create_training_job", _manifest_channel, "S3DataType='ManifestFile'"),
    ("create_training_job", _gzip_channel, "InputDataConfig[0].CompressionType='Gzip'"),
    ("create_processing_job", _pipe_processing, "ProcessingInputs[0].S3Input.S3InputMode"),
    (
        "create_hyper_parameter_tuning_job",
        _tuning_without_resources,
        "'CreateHyperParameterTuningJob.TrainingJobDefinition.ResourceConfig'",
    ),
    (
        "create_hyper_parameter_tuning_job",
        _tuning_with_pipe,
        "TrainingJobDefinition.AlgorithmSpecification.TrainingInputMode='Pipe'",
    ),
    ("create_transform_job", lambda: _transform(SplitType="RecordIO"), "SplitType='RecordIO'"),
    (
        "create_transform_job",
        lambda: _transform(DataProcessing={"InputFilter": "$.features"}),
        "DataProcessing.InputFilter='$.features'",
    ),
    (
        "create_transform_job",
        lambda: _transform(DataProcessing={"JoinSource": "Input"}),
        "DataProcessing.JoinSource='Input'",
    ),
    (
        "create_model",
        lambda: {"ModelName": "rules-pipeline", "Containers": [CONTAINER, CONTAINER]},
        "CreateModel.Containers has 2 elements",
    ),
    (
        "create_model",
        lambda: {"ModelName": "rules-mme", "PrimaryContainer": {**CONTAINER, "Mode": "MultiModel"}},
        "PrimaryContainer.Mode='MultiModel'",
    ),
    (
        "create_endpoint_config",
        lambda: {
            "EndpointConfigName": "rules-async",
            "ProductionVariants": [VARIANT],
            "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/async"}},
        },
        "CreateEndpointConfig.AsyncInferenceConfig is not run by the local stack",
    ),
]


@pytest.mark.parametrize(
    ("method", "build", "named"), REFUSED, ids=[named for _, _, named in REFUSED]
)
def test_a_feature_the_stack_does_not_run_is_refused_naming_the_member(
    sagemaker, method, build, named
):
    error = refused(getattr(sagemaker, method), **build())
    assert named in error["Message"]
    assert (
        "not run by the local stack" in error["Message"] or "must not be null" in error["Message"]
    )


def test_a_training_container_entrypoint_runs_that_command_of_the_image(sagemaker, training_data):
    request = training_request("rules-entrypoint")
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = ["process", "fail"]
    sagemaker.create_training_job(**request)
    job = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName="rules-entrypoint"),
        "TrainingJobStatus",
    )
    # The image's train command would complete; its process command with "fail" exits 1.
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"] == "AlgorithmError: , exit code: 1"
    request = training_request("rules-entrypoint-unknown")
    request["AlgorithmSpecification"]["ContainerEntrypoint"] = ["evaluate"]
    sagemaker.create_training_job(**request)
    job = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName="rules-entrypoint-unknown"),
        "TrainingJobStatus",
    )
    assert job["TrainingJobStatus"] == "Failed"
    assert "has no command 'evaluate'" in job["FailureReason"]


def test_create_model_with_one_container_in_containers_is_accepted(sagemaker):
    answer = sagemaker.create_model(
        ModelName="rules-one-container", Containers=[CONTAINER], ExecutionRoleArn=ROLE
    )
    assert_valid_output("CreateModel", answer)
