"""The project's real images (docker/) through the stack: prepare → train → transform → endpoint
on a small demo month. Slower than the fixture-image tests; one pass covers all three images."""

import json
from pathlib import Path

import pytest

from tests.support.local_stack import BUCKET, ROLE, read_text, wait_for

demodata = pytest.importorskip("local.demodata")

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlops"
COUNTRY, MONTH = "de", "2025-01"
PREFIX = f"s3://{BUCKET}/real"

pytestmark = pytest.mark.slow


def upload_tree(s3, root: Path, prefix: str) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(root).as_posix()}")


def processing_output(name: str) -> dict:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri": f"{PREFIX}/prepared/{name}",
            "LocalPath": f"/opt/ml/processing/output/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }


def processing_input(name: str, uri: str) -> dict:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"/opt/ml/processing/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        },
    }


def channel(name: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{PREFIX}/prepared/{name}/"}
        },
    }


@pytest.fixture(scope="module")
def trained_model(sagemaker, s3, tmp_path_factory):
    """prepare + train with the real images; returns the model name."""
    data = tmp_path_factory.mktemp("demo")
    demodata.generate_month(data, COUNTRY, MONTH, items=150, seed=1)
    upload_tree(s3, data, "real/data")
    version = demodata.code_table_version(MONTH)
    sagemaker.create_processing_job(
        ProcessingJobName="real-prepare",
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 5,
            }
        },
        AppSpecification={
            "ImageUri": f"{REGISTRY}/processing:local",
            "ContainerEntrypoint": ["prepare"],
        },
        RoleArn=ROLE,
        Environment={
            "COUNTRY": COUNTRY,
            "DATA_MONTH": MONTH,
            "CODE_TABLE_VERSION": version,
            "SPLIT_SEED": "7",
        },
        ProcessingInputs=[
            processing_input("labeled", f"{PREFIX}/data/{COUNTRY}/{MONTH}/labeled/"),
            processing_input("code_table", f"{PREFIX}/data/{COUNTRY}/code_tables/{version}.json"),
        ],
        ProcessingOutputConfig={
            "Outputs": [
                processing_output(n)
                for n in ("train", "validation", "test_features", "test_labels", "profile")
            ]
        },
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    prepared = wait_for(
        lambda: sagemaker.describe_processing_job(ProcessingJobName="real-prepare"),
        "ProcessingJobStatus",
        timeout=180,
    )
    assert prepared["ProcessingJobStatus"] == "Completed", prepared.get("FailureReason")
    sagemaker.create_training_job(
        TrainingJobName="real-train",
        AlgorithmSpecification={
            "TrainingImage": f"{REGISTRY}/training:local",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "validation:macro_f1", "Regex": "validation:macro_f1=([0-9.]+);"}
            ],
        },
        RoleArn=ROLE,
        HyperParameters={
            "algorithm": "linear",
            "country": COUNTRY,
            "data_month": MONTH,
            "code_table_version": version,
        },
        InputDataConfig=[channel("train"), channel("validation")],
        OutputDataConfig={"S3OutputPath": f"{PREFIX}/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 300},
    )
    trained = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName="real-train"),
        "TrainingJobStatus",
        timeout=240,
    )
    assert trained["TrainingJobStatus"] == "Completed", trained.get("FailureReason")
    assert {m["MetricName"] for m in trained["FinalMetricDataList"]} == {"validation:macro_f1"}
    sagemaker.create_model(
        ModelName="real-model",
        PrimaryContainer={
            "Image": f"{REGISTRY}/inference:local",
            "ModelDataUrl": trained["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE,
    )
    return "real-model"


def test_the_real_images_transform_every_test_record(sagemaker, s3, trained_model):
    sagemaker.create_transform_job(
        TransformJobName="real-transform",
        ModelName=trained_model,
        TransformInput={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{PREFIX}/prepared/test_features/",
                }
            },
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        TransformOutput={
            "S3OutputPath": f"{PREFIX}/transform",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
    )
    job = wait_for(
        lambda: sagemaker.describe_transform_job(TransformJobName="real-transform"),
        "TransformJobStatus",
        timeout=180,
    )
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    features = read_text(s3, f"{PREFIX}/prepared/test_features/features.jsonl").splitlines()
    answers = read_text(s3, f"{PREFIX}/transform/features.jsonl.out").splitlines()
    assert len(answers) == len(features)
    first = json.loads(answers[0])
    assert first["item_id"] == json.loads(features[0])["item_id"]
    assert 0.0 <= first["confidence"] <= 1.0


def test_the_real_inference_image_serves_an_endpoint(stack, sagemaker, s3, trained_model):
    sagemaker.create_endpoint_config(
        EndpointConfigName="real-endpoint-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": trained_model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(
        EndpointName="real-endpoint", EndpointConfigName="real-endpoint-config"
    )
    described = wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName="real-endpoint"),
        "EndpointStatus",
        ("InService", "Failed"),
        timeout=120,
    )
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    record = json.loads(
        read_text(s3, f"{PREFIX}/prepared/test_features/features.jsonl").splitlines()[0]
    )
    answer = stack.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="real-endpoint", Body=json.dumps(record), ContentType="application/json"
    )
    prediction = json.loads(answer["Body"].read())
    assert prediction["item_id"] == record["item_id"]
    assert prediction["label"] == prediction["top_k"][0]["label"]
