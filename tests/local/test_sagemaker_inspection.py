"""What a user's inspection and teardown call after a real small run: every Describe*/List* the
stack implements answers in botocore's output shape (required members included), List*'s
documented default orders hold, and finished jobs can be deleted while running ones cannot."""

import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from local.stack.services.sagemaker.responses import service_model
from tests.support.local_stack import (
    BUCKET,
    FIXTURE_IMAGE_URI,
    ROLE,
    assert_valid_output,
    implemented_operations,
    processing_request,
    put_lines,
    training_request,
    tuning_request,
    wait_for,
)

GRID = {"CategoricalParameterRanges": [{"Name": "x", "Values": ["0.3"]}]}


@pytest.fixture(scope="module")
def small_run(stack, sagemaker, s3, training_data):
    """A training job, its model, a processing, a transform and a tuning job, an endpoint and
    a registered package: the names to describe them by."""
    put_lines(s3, "inspect-proc-in/part-0.jsonl", [{"label": 1}])
    put_lines(s3, "inspect-in/part-0.jsonl", [{"item_id": "1"}])
    sagemaker.create_training_job(**training_request("inspect-train"))
    processing = processing_request("inspect-proc", ["process"])
    # Its own input prefix: the processing tests count every file under theirs.
    processing["ProcessingInputs"][0]["S3Input"]["S3Uri"] = f"s3://{BUCKET}/inspect-proc-in/"
    sagemaker.create_processing_job(**processing)
    sagemaker.create_hyper_parameter_tuning_job(
        **tuning_request("inspect-tune", "Grid", GRID, max_jobs=1, parallel=1)
    )
    trained = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName="inspect-train"),
        "TrainingJobStatus",
    )
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    sagemaker.create_model(
        ModelName="inspect-model",
        PrimaryContainer={
            "Image": FIXTURE_IMAGE_URI,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_transform_job(
        TransformJobName="inspect-transform",
        ModelName="inspect-model",
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/inspect-in/"}
            },
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/inspect-out"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="inspect-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "inspect-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="inspect-endpoint", EndpointConfigName="inspect-config")
    sagemaker.create_model_package_group(ModelPackageGroupName="inspect-group")
    package = sagemaker.create_model_package(
        ModelPackageGroupName="inspect-group",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": FIXTURE_IMAGE_URI,
                    "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
                }
            ],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
    )["ModelPackageArn"]
    for describe, key, status in (
        ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
        ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
        ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName", None),
    ):
        name = {"ProcessingJobName": "inspect-proc", "TransformJobName": "inspect-transform"}.get(
            key, "inspect-tune"
        )
        wait_for(
            lambda d=describe, k=key, n=name: getattr(sagemaker, d)(**{k: n}),
            status or "HyperParameterTuningJobStatus",
        )
    wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName="inspect-endpoint"),
        "EndpointStatus",
        ("InService", "Failed"),
    )
    return {
        "TrainingJobName": "inspect-train",
        "ProcessingJobName": "inspect-proc",
        "TransformJobName": "inspect-transform",
        "HyperParameterTuningJobName": "inspect-tune",
        "ModelName": "inspect-model",
        "EndpointConfigName": "inspect-config",
        "EndpointName": "inspect-endpoint",
        "ModelPackageGroupName": "inspect-group",
        "ModelPackageName": package,
        "ResourceArn": package,
    }


INSPECTIONS = implemented_operations(("Describe", "List"))


def test_every_describe_and_list_the_stack_implements_is_inspected():
    assert len(INSPECTIONS) >= 20, INSPECTIONS  # the walk below covers every one of them


@pytest.mark.parametrize("operation", INSPECTIONS)
def test_each_answer_after_a_real_run_fits_botocores_output_shape(sagemaker, small_run, operation):
    shape = service_model().operation_model(operation).input_shape
    request = {key: small_run[key] for key in shape.required_members}
    if operation == "ListModelPackages":
        request["ModelPackageGroupName"] = small_run["ModelPackageGroupName"]
    answer = getattr(sagemaker, xform_name(operation))(**request)
    assert_valid_output(operation, answer)
    if operation.startswith("List") and operation != "ListTags":
        listed = next(v for k, v in answer.items() if isinstance(v, list))
        assert listed, f"{operation} listed nothing after the run"


@pytest.mark.parametrize(
    ("method", "key", "oldest_first"),
    [
        ("list_training_jobs", "TrainingJobSummaries", True),
        ("list_processing_jobs", "ProcessingJobSummaries", True),
        ("list_transform_jobs", "TransformJobSummaries", False),
        ("list_models", "Models", False),
        ("list_endpoint_configs", "EndpointConfigs", False),
        ("list_endpoints", "Endpoints", False),
        ("list_model_package_groups", "ModelPackageGroupSummaryList", True),
    ],
)
def test_lists_default_to_their_documented_sort_order(
    sagemaker, small_run, method, key, oldest_first
):
    times = [entry["CreationTime"] for entry in getattr(sagemaker, method)(MaxResults=100)[key]]
    assert len(times) >= 1
    assert times == sorted(times, reverse=not oldest_first)


def test_tuning_jobs_default_to_name_order(sagemaker, small_run):
    names = [
        j["HyperParameterTuningJobName"]
        for j in sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=100)[
            "HyperParameterTuningJobSummaries"
        ]
    ]
    assert names == sorted(names)


def test_a_running_job_cannot_be_deleted_and_a_finished_one_can(sagemaker, training_data):
    name = "inspect-delete"
    sagemaker.create_training_job(**training_request(name, {"behaviour": "sleep"}))
    with pytest.raises(ClientError) as raised:
        sagemaker.delete_training_job(TrainingJobName=name)
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"
    sagemaker.stop_training_job(TrainingJobName=name)
    wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    sagemaker.delete_training_job(TrainingJobName=name)
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_training_job(TrainingJobName=name)
    assert raised.value.response["Error"]["Message"] == "Requested resource not found."
    with pytest.raises(ClientError) as raised:
        sagemaker.delete_training_job(TrainingJobName=name)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"


def test_a_finished_tuning_job_and_processing_job_are_deleted(sagemaker, small_run):
    sagemaker.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName="inspect-tune")
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="inspect-tune")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFound"
    sagemaker.delete_processing_job(ProcessingJobName="inspect-proc")
    listed = sagemaker.list_processing_jobs(NameContains="inspect-proc")
    assert listed["ProcessingJobSummaries"] == []
