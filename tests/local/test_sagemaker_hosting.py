"""Models, batch transform, endpoint configs, endpoints and InvokeEndpoint through boto3."""

import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import (
    BUCKET,
    FIXTURE_IMAGE_URI,
    ROLE,
    assert_valid_output,
    put_lines,
    read_text,
    training_request,
    wait_for,
    wait_for_container,
)


def trained_model(sagemaker, name: str, hyperparameters: dict) -> str:
    """Train the fixture image and register the result as model ``name``."""
    sagemaker.create_training_job(**training_request(f"{name}-train", hyperparameters))
    job = wait_for(
        lambda: sagemaker.describe_training_job(TrainingJobName=f"{name}-train"),
        "TrainingJobStatus",
    )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": FIXTURE_IMAGE_URI,
            "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE,
    )
    return name


@pytest.fixture(scope="module")
def model_v1(sagemaker, training_data):
    return trained_model(sagemaker, "model-v1", {"tag": "v1"})


@pytest.fixture(scope="module")
def model_v2(sagemaker, training_data):
    return trained_model(sagemaker, "model-v2", {"tag": "v2"})


@pytest.fixture(scope="module")
def broken_model(sagemaker, training_data):
    return trained_model(sagemaker, "model-broken", {"broken": "true"})


def transform_request(name: str, model: str, prefix: str, **overrides) -> dict:
    request = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": prefix}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/transform-out/{name}",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
            "KmsKeyId": "alias/mlops",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(overrides)
    return request


def run_transform(sagemaker, request):
    sagemaker.create_transform_job(**request)
    name = request["TransformJobName"]
    return wait_for(
        lambda: sagemaker.describe_transform_job(TransformJobName=name), "TransformJobStatus"
    )


@pytest.fixture(scope="module")
def unlabeled(s3):
    return (
        put_lines(s3, "transform-in/part-0.jsonl", [{"item_id": str(i)} for i in range(7)]).rsplit(
            "/", 1
        )[0]
        + "/"
    )


def test_model_describe_list_and_delete(sagemaker, model_v1):
    described = sagemaker.describe_model(ModelName=model_v1)
    assert described["PrimaryContainer"]["Image"] == FIXTURE_IMAGE_URI
    assert_valid_output("DescribeModel", described)
    names = [m["ModelName"] for m in sagemaker.list_models(NameContains="model-v1")["Models"]]
    assert names == ["model-v1"]
    sagemaker.create_model(
        ModelName="model-deleted",
        PrimaryContainer={"Image": FIXTURE_IMAGE_URI},
        ExecutionRoleArn=ROLE,
    )
    sagemaker.delete_model(ModelName="model-deleted")
    with pytest.raises(ClientError) as raised:
        sagemaker.describe_model(ModelName="model-deleted")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find model" in raised.value.response["Error"]["Message"]


def test_batch_transform_writes_one_out_file_per_input_assembled_by_line(
    sagemaker, s3, model_v1, unlabeled
):
    job = run_transform(sagemaker, transform_request("transform-ok", model_v1, unlabeled))
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    uri = f"s3://{BUCKET}/transform-out/transform-ok/part-0.jsonl.out"
    lines = read_text(s3, uri).splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["echo"]["item_id"] for a in answers] == [str(i) for i in range(7)]
    assert {a["model"] for a in answers} == {"v1"}
    head = s3.head_object(Bucket=BUCKET, Key="transform-out/transform-ok/part-0.jsonl.out")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert_valid_output("DescribeTransformJob", job)


def test_a_transform_server_gets_the_workers_of_one_job_slot_unless_told(
    stack, sagemaker, s3, model_v1, unlabeled
):
    """Two jobs side by side on a 2-core machine: each server starts the workers of its share
    (cores ÷ slots), not one per core of the machine; the job's Environment decides if set."""
    context = stack.service("sagemaker").backend.context
    assert context.cpus_per_job == max(1, (os.cpu_count() or 1) // stack.job_slots)

    def workers(name: str, **overrides) -> set:
        run_transform(sagemaker, transform_request(name, model_v1, unlabeled, **overrides))
        uri = f"s3://{BUCKET}/transform-out/{name}/part-0.jsonl.out"
        return {json.loads(line)["workers"] for line in read_text(s3, uri).splitlines()}

    assert workers("transform-workers") == {str(context.cpus_per_job)}
    told = {"Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "3"}}
    assert workers("transform-workers-told", **told) == {"3"}


def test_single_record_strategy_sends_one_record_per_request(sagemaker, s3, model_v1, unlabeled):
    request = transform_request(
        "transform-single", model_v1, unlabeled, BatchStrategy="SingleRecord"
    )
    run_transform(sagemaker, request)
    uri = f"s3://{BUCKET}/transform-out/transform-single/part-0.jsonl.out"
    answers = [json.loads(line) for line in read_text(s3, uri).splitlines()]
    assert {a["batch"] for a in answers} == {1}
    assert {a["strategy"] for a in answers} == {"SINGLERECORD"}


def test_multi_record_strategy_packs_records_up_to_the_payload_limit(
    sagemaker, s3, model_v1, unlabeled
):
    request = transform_request(
        "transform-multi", model_v1, unlabeled, BatchStrategy="MultiRecord", MaxPayloadInMB=1
    )
    run_transform(sagemaker, request)
    uri = f"s3://{BUCKET}/transform-out/transform-multi/part-0.jsonl.out"
    answers = [json.loads(line) for line in read_text(s3, uri).splitlines()]
    assert {a["batch"] for a in answers} == {7}


def test_a_transform_job_completes_without_waiting_for_its_server_to_stop(
    stack, sagemaker, s3, training_data, unlabeled
):
    """Once the answers are uploaded the job is Completed; its server's stop (here one that
    only SIGKILL ends, after the stack's 2 s grace) goes on in the background and ends."""
    model = trained_model(sagemaker, "model-slow-stop", {"tag": "v1", "ignore_sigterm": "true"})
    retirements = stack.service("sagemaker").backend.context.retirements
    job = run_transform(sagemaker, transform_request("transform-slow-stop", model, unlabeled))
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    stopping = retirements.pids()
    assert len(stopping) == 1  # the job did not wait for the server: it is still stopping
    out = s3.get_object(Bucket=BUCKET, Key="transform-out/transform-slow-stop/part-0.jsonl.out")
    assert len(out["Body"].read().decode().splitlines()) == 7
    retirements.join(timeout=30)
    assert retirements.pids() == []
    with pytest.raises(ProcessLookupError):
        os.kill(stopping[0], 0)


def test_a_record_the_model_rejects_fails_the_transform_job(sagemaker, s3, model_v1):
    prefix = put_lines(s3, "transform-poison/p.jsonl", [{"item_id": "poison"}]).rsplit("/", 1)[0]
    job = run_transform(sagemaker, transform_request("transform-poison", model_v1, prefix + "/"))
    assert job["TransformJobStatus"] == "Failed"
    assert "400" in job["FailureReason"]


def test_a_transform_with_an_unknown_model_is_rejected(sagemaker, unlabeled):
    with pytest.raises(ClientError) as raised:
        sagemaker.create_transform_job(**transform_request("transform-nomodel", "nope", unlabeled))
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def endpoint_config(sagemaker, name: str, model: str, **extra) -> str:
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
        **extra,
    )
    return name


def wait_endpoint(sagemaker, name):
    return wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName=name),
        "EndpointStatus",
        ("InService", "Failed"),
    )


def invoke(runtime, endpoint: str, record: dict) -> dict:
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint,
        Body=json.dumps(record),
        ContentType="application/jsonlines",
        Accept="application/jsonlines",
    )
    return json.loads(answer["Body"].read())


@pytest.fixture(scope="module")
def runtime(stack):
    return stack.client("sagemaker-runtime")


def test_an_endpoint_goes_in_service_and_answers_invocations(sagemaker, runtime, model_v1):
    endpoint_config(sagemaker, "ep-basic-v1", model_v1)
    sagemaker.create_endpoint(EndpointName="ep-basic", EndpointConfigName="ep-basic-v1")
    assert sagemaker.describe_endpoint(EndpointName="ep-basic")["EndpointStatus"] == "Creating"
    described = wait_endpoint(sagemaker, "ep-basic")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert_valid_output("DescribeEndpoint", described)
    assert invoke(runtime, "ep-basic", {"item_id": "x"})["model"] == "v1"
    sagemaker.delete_endpoint(EndpointName="ep-basic")
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName="ep-basic")


def test_update_endpoint_shifts_to_the_new_config(sagemaker, runtime, model_v1, model_v2):
    endpoint_config(sagemaker, "ep-update-v1", model_v1)
    endpoint_config(sagemaker, "ep-update-v2", model_v2)
    sagemaker.create_endpoint(EndpointName="ep-update", EndpointConfigName="ep-update-v1")
    wait_endpoint(sagemaker, "ep-update")
    sagemaker.update_endpoint(
        EndpointName="ep-update",
        EndpointConfigName="ep-update-v2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                    "WaitIntervalInSeconds": 1,
                },
                "TerminationWaitInSeconds": 0,
            }
        },
    )
    assert sagemaker.describe_endpoint(EndpointName="ep-update")["EndpointStatus"] == "Updating"
    described = wait_endpoint(sagemaker, "ep-update")
    assert described["EndpointConfigName"] == "ep-update-v2"
    assert "FailureReason" not in described
    assert invoke(runtime, "ep-update", {"item_id": "x"})["model"] == "v2"


def test_an_update_whose_model_cannot_load_rolls_back_to_the_old_config(
    sagemaker, runtime, model_v1, broken_model
):
    endpoint_config(sagemaker, "ep-rollback-v1", model_v1)
    endpoint_config(sagemaker, "ep-rollback-broken", broken_model)
    sagemaker.create_endpoint(EndpointName="ep-rollback", EndpointConfigName="ep-rollback-v1")
    wait_endpoint(sagemaker, "ep-rollback")
    sagemaker.update_endpoint(EndpointName="ep-rollback", EndpointConfigName="ep-rollback-broken")
    described = wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName="ep-rollback"),
        "EndpointStatus",
        ("InService", "Failed"),
    )
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "ep-rollback-v1"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert invoke(runtime, "ep-rollback", {"item_id": "x"})["model"] == "v1"


def test_an_endpoint_whose_model_cannot_load_is_failed(sagemaker, broken_model):
    endpoint_config(sagemaker, "ep-broken-cfg", broken_model)
    sagemaker.create_endpoint(EndpointName="ep-broken", EndpointConfigName="ep-broken-cfg")
    described = wait_endpoint(sagemaker, "ep-broken")
    assert described["EndpointStatus"] == "Failed"
    assert "cannot load model" in described["FailureReason"]


def test_data_capture_writes_sagemakers_jsonl_to_s3(sagemaker, runtime, s3, model_v1):
    endpoint_config(
        sagemaker,
        "ep-capture-v1",
        model_v1,
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": f"s3://{BUCKET}/capture",
            "KmsKeyId": "alias/mlops",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    sagemaker.create_endpoint(EndpointName="ep-capture", EndpointConfigName="ep-capture-v1")
    wait_endpoint(sagemaker, "ep-capture")
    invoke(runtime, "ep-capture", {"item_id": "captured"})
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/ep-capture/AllTraffic/")[
            "Contents"
        ]
    ]
    assert len(keys) == 1 and keys[0].endswith(".jsonl")
    record = json.loads(read_text(s3, f"s3://{BUCKET}/{keys[0]}"))
    assert record["captureData"]["endpointInput"]["mode"] == "INPUT"
    assert json.loads(record["captureData"]["endpointInput"]["data"]) == {"item_id": "captured"}
    assert record["captureData"]["endpointInput"]["encoding"] == "JSON"
    assert json.loads(record["captureData"]["endpointOutput"]["data"])["model"] == "v1"
    assert record["eventVersion"] == "0"


def test_a_model_error_answers_invoke_endpoint_with_model_error(sagemaker, runtime, model_v1):
    endpoint_config(sagemaker, "ep-error-v1", model_v1)
    sagemaker.create_endpoint(EndpointName="ep-error", EndpointConfigName="ep-error-v1")
    wait_endpoint(sagemaker, "ep-error")
    with pytest.raises(ClientError) as raised:
        invoke(runtime, "ep-error", {"item_id": "poison"})
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert raised.value.response["OriginalStatusCode"] == 400


def test_invoking_an_unknown_endpoint_is_a_validation_error(runtime):
    with pytest.raises(ClientError) as raised:
        invoke(runtime, "ep-never", {})
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_duplicate_endpoint_config_and_unknown_config_are_rejected(sagemaker, model_v1):
    endpoint_config(sagemaker, "ep-dup-cfg", model_v1)
    with pytest.raises(ClientError) as raised:
        endpoint_config(sagemaker, "ep-dup-cfg", model_v1)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as raised:
        sagemaker.create_endpoint(EndpointName="ep-nocfg", EndpointConfigName="missing")
    assert "Could not find endpoint configuration" in raised.value.response["Error"]["Message"]
    described = sagemaker.describe_endpoint_config(EndpointConfigName="ep-dup-cfg")
    assert_valid_output("DescribeEndpointConfig", described)
    sagemaker.delete_endpoint_config(EndpointConfigName="ep-dup-cfg")
    listed = sagemaker.list_endpoint_configs(NameContains="ep-dup-cfg")["EndpointConfigs"]
    assert listed == []


def test_stopping_a_transform_job_cuts_its_requests_and_ends_it_stopped(
    stack, sagemaker, s3, model_v1
):
    prefix = put_lines(s3, "transform-slow/s.jsonl", [{"item_id": "slow"}]).rsplit("/", 1)[0]
    sagemaker.create_transform_job(**transform_request("transform-stop", model_v1, prefix + "/"))
    wait_for_container(stack, "transform-stop")
    time.sleep(1)  # the model server is up and holding the slow record
    sagemaker.stop_transform_job(TransformJobName="transform-stop")
    job = wait_for(
        lambda: sagemaker.describe_transform_job(TransformJobName="transform-stop"),
        "TransformJobStatus",
        timeout=20,
    )
    assert job["TransformJobStatus"] == "Stopped"


# ---------------------------------------------------------------- serverless (AWS's exclusions)
def serverless_variant(model: str) -> dict:
    return {
        "VariantName": "primary",
        "ModelName": model,
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }


@pytest.fixture(scope="module")
def serverless_models(sagemaker):
    """Models a serverless variant may and may not serve (never deployed: no training needed)."""
    container = {"Image": FIXTURE_IMAGE_URI, "ModelDataUrl": f"s3://{BUCKET}/sl/model.tar.gz"}
    vpc = {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0a1b2c3d"]}
    for name, extra in (
        ("sl-plain", {}),
        ("sl-vpc", {"VpcConfig": vpc}),
        ("sl-isolated", {"EnableNetworkIsolation": True}),
    ):
        sagemaker.create_model(
            ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE, **extra
        )
    return "sl-plain"


def test_a_plain_serverless_endpoint_config_is_accepted(sagemaker, serverless_models):
    sagemaker.create_endpoint_config(
        EndpointConfigName="sl-ok", ProductionVariants=[serverless_variant("sl-plain")]
    )
    described = sagemaker.describe_endpoint_config(EndpointConfigName="sl-ok")
    assert described["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] == 2048


@pytest.mark.parametrize(
    ("name", "model", "extra", "refused"),
    [
        (
            "sl-capture",
            "sl-plain",
            {
                "DataCaptureConfig": {
                    "InitialSamplingPercentage": 20,
                    "DestinationS3Uri": f"s3://{BUCKET}/capture/",
                    "CaptureOptions": [{"CaptureMode": "Input"}],
                }
            },
            "DataCaptureConfig (data capture)",
        ),
        ("sl-kms", "sl-plain", {"KmsKeyId": "alias/mlops"}, "KmsKeyId"),
        ("sl-on-vpc", "sl-vpc", {}, "VpcConfig on model sl-vpc of variant primary"),
        ("sl-on-isolated", "sl-isolated", {}, "network isolation on model sl-isolated"),
    ],
)
def test_a_serverless_variant_refuses_what_serverless_inference_does_not_support(
    sagemaker, serverless_models, name, model, extra, refused
):
    with pytest.raises(ClientError) as raised:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name, ProductionVariants=[serverless_variant(model)], **extra
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert (
        f"CreateEndpointConfig {name}: serverless variant primary does not support"
        in (error["Message"])
    )
    assert refused in error["Message"]
    assert sagemaker.list_endpoint_configs(NameContains=name)["EndpointConfigs"] == []


def test_a_serverless_variant_beside_another_variant_is_refused(sagemaker, serverless_models):
    second = {**serverless_variant("sl-plain"), "VariantName": "second"}
    with pytest.raises(ClientError) as raised:
        sagemaker.create_endpoint_config(
            EndpointConfigName="sl-two",
            ProductionVariants=[serverless_variant("sl-plain"), second],
        )
    assert "multiple production variants" in raised.value.response["Error"]["Message"]
