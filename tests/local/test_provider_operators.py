"""The Amazon provider's own SageMaker operators, executed against the stack through
AWS_ENDPOINT_URL, exactly as the DAGs will run them."""

import asyncio

import pytest
from airflow.exceptions import TaskDeferred
from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerProcessingOperator,
    SageMakerRegisterModelVersionOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
    SageMakerTuningOperator,
)

from tests.support.local_stack import BUCKET, FIXTURE_IMAGE_URI, ROLE, training_request

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True)
def aws_environment(stack, monkeypatch):
    for name, value in stack.environ().items():
        monkeypatch.setenv(name, value)


def execute(operator):
    return operator.execute(context={})


def test_training_operator_waits_for_completion_and_prints_the_jobs_log(training_data, capfd):
    # print_log makes the provider re-describe the job only every 30 s: this test takes that long.
    result = execute(
        SageMakerTrainingOperator(
            task_id="train",
            config=training_request("op-train", {"x": "0.3", "tag": "op"}),
            aws_conn_id=None,
            check_interval=1,
            print_log=True,
        )
    )
    training = result["Training"]
    assert training["TrainingJobStatus"] == "Completed"
    assert training["ModelArtifacts"]["S3ModelArtifacts"].endswith("op-train/output/model.tar.gz")
    printed = capfd.readouterr()
    assert "validation:macro_f1=1.000000;" in printed.out + printed.err  # from CloudWatch Logs


def test_training_operator_raises_on_a_failed_job_with_its_reason(training_data):
    train = SageMakerTrainingOperator(
        task_id="train",
        config=training_request("op-train-fail", {"behaviour": "fail"}),
        aws_conn_id=None,
        check_interval=1,
        print_log=False,
    )
    with pytest.raises(Exception, match="label column missing"):
        execute(train)


def test_training_operator_renames_a_job_that_already_exists(sagemaker, training_data):
    first = execute(
        SageMakerTrainingOperator(
            task_id="train",
            config=training_request("op-train-again"),
            aws_conn_id=None,
            check_interval=1,
            print_log=False,
        )
    )
    second = execute(
        SageMakerTrainingOperator(
            task_id="train",
            config=training_request("op-train-again"),
            aws_conn_id=None,
            check_interval=1,
            print_log=False,
        )
    )
    assert first["Training"]["TrainingJobName"] == "op-train-again"
    assert second["Training"]["TrainingJobName"].startswith("op-train-again-")


def test_processing_operator_runs_a_processing_job(s3):
    s3.put_object(Bucket=BUCKET, Key="op-proc/in/a.jsonl", Body=b'{"a": 1}\n')
    result = execute(
        SageMakerProcessingOperator(
            task_id="process",
            config={
                "ProcessingJobName": "op-process",
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                        "VolumeSizeInGB": 5,
                    }
                },
                "AppSpecification": {
                    "ImageUri": FIXTURE_IMAGE_URI,
                    "ContainerEntrypoint": ["process", "copy"],
                },
                "RoleArn": ROLE,
                "ProcessingInputs": [
                    {
                        "InputName": "in",
                        "S3Input": {
                            "S3Uri": f"s3://{BUCKET}/op-proc/in/",
                            "LocalPath": "/opt/ml/processing/input/in",
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
                                "S3Uri": f"s3://{BUCKET}/op-proc/out",
                                "LocalPath": "/opt/ml/processing/output/copy",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ]
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 120},
            },
            aws_conn_id=None,
            check_interval=1,
        )
    )
    assert result["Processing"]["ProcessingJobStatus"] == "Completed"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="op-proc/out/")["KeyCount"] == 1


def test_tuning_operator_returns_the_best_training_job(training_data):
    definition = training_request("unused")
    definition.pop("TrainingJobName")
    definition["StaticHyperParameters"] = definition.pop("HyperParameters")
    result = execute(
        SageMakerTuningOperator(
            task_id="tune",
            config={
                "HyperParameterTuningJobName": "op-tune",
                "HyperParameterTuningJobConfig": {
                    "Strategy": "Grid",
                    "HyperParameterTuningJobObjective": {
                        "Type": "Maximize",
                        "MetricName": "validation:macro_f1",
                    },
                    "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
                    "ParameterRanges": {
                        "CategoricalParameterRanges": [{"Name": "x", "Values": ["0.2", "0.3"]}]
                    },
                },
                "TrainingJobDefinition": definition,
            },
            aws_conn_id=None,
            check_interval=1,
        )
    )
    tuning = result["Tuning"]
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    assert tuning["BestTrainingJob"]["TunedHyperParameters"] == {"x": "0.3"}


def test_model_transform_and_endpoint_operators_deploy_a_trained_model(s3, training_data):
    trained = execute(
        SageMakerTrainingOperator(
            task_id="train",
            config=training_request("op-deploy-train", {"tag": "deployed"}),
            aws_conn_id=None,
            check_interval=1,
            print_log=False,
        )
    )["Training"]
    model = {
        "ModelName": "op-model",
        "PrimaryContainer": {
            "Image": FIXTURE_IMAGE_URI,
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        "ExecutionRoleArn": ROLE,
    }
    execute(SageMakerModelOperator(task_id="model", config=model, aws_conn_id=None))
    s3.put_object(Bucket=BUCKET, Key="op-transform/in/x.jsonl", Body=b'{"item_id": "1"}\n')
    transformed = execute(
        SageMakerTransformOperator(
            task_id="transform",
            config={
                "TransformJobName": "op-transform",
                "ModelName": "op-model",
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{BUCKET}/op-transform/in/",
                        }
                    },
                    "ContentType": "application/jsonlines",
                    "SplitType": "Line",
                },
                "TransformOutput": {
                    "S3OutputPath": f"s3://{BUCKET}/op-transform/out",
                    "AssembleWith": "Line",
                },
                "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
            },
            aws_conn_id=None,
            check_interval=1,
        )
    )
    assert transformed["Transform"]["TransformJobStatus"] == "Completed"
    deployed = execute(
        SageMakerEndpointOperator(
            task_id="deploy",
            config={
                "EndpointConfig": {
                    "EndpointConfigName": "op-endpoint-config",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": "op-model",
                            "InitialInstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                        }
                    ],
                },
                "Endpoint": {
                    "EndpointName": "op-endpoint",
                    "EndpointConfigName": "op-endpoint-config",
                },
            },
            aws_conn_id=None,
            check_interval=1,
        )
    )
    assert deployed["Endpoint"]["EndpointStatus"] == "InService"


def run_deferred(operator):
    """Execute a deferrable operator as dag.test() does: defer, run the trigger, resume."""
    with pytest.raises(TaskDeferred) as deferred:
        execute(operator)

    async def first_event():
        async for event in deferred.value.trigger.run():
            return event

    event = asyncio.run(first_event())
    return getattr(operator, deferred.value.method_name)({}, event.payload)


def test_a_deferrable_training_operator_resumes_on_its_triggers_event(training_data):
    result = run_deferred(
        SageMakerTrainingOperator(
            task_id="train",
            config=training_request("op-train-deferred", {"x": "0.3", "sleep_seconds": "3"}),
            aws_conn_id=None,
            check_interval=1,
            deferrable=True,
        )
    )
    assert result["Training"]["TrainingJobStatus"] == "Completed"


def test_a_deferrable_training_operator_fails_when_its_job_fails(sagemaker, training_data):
    # The provider's deferred path names the job and status but not the FailureReason:
    # notifications must describe the job to show why.
    train = SageMakerTrainingOperator(
        task_id="train",
        config=training_request(
            "op-train-deferred-fail", {"behaviour": "fail", "sleep_seconds": "3"}
        ),
        aws_conn_id=None,
        check_interval=1,
        deferrable=True,
    )
    with pytest.raises(Exception, match="op-train-deferred-fail"):
        run_deferred(train)
    described = sagemaker.describe_training_job(TrainingJobName="op-train-deferred-fail")
    assert "label column missing" in described["FailureReason"]


def test_register_model_version_operator_creates_numbered_pending_versions(sagemaker):
    arns = [
        execute(
            SageMakerRegisterModelVersionOperator(
                task_id="register",
                image_uri=FIXTURE_IMAGE_URI,
                model_url=f"s3://{BUCKET}/models/op-train/output/model.tar.gz",
                package_group_name="op-registry-de",
                aws_conn_id=None,
            )
        )
        for _ in range(2)
    ]
    assert [arn.rsplit("/", 1)[1] for arn in arns] == ["1", "2"]
    described = sagemaker.describe_model_package(ModelPackageName=arns[1])
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
