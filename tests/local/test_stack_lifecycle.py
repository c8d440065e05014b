"""The stack's own lifecycle: a CLI for long runs, bounded job slots, children ending with it."""

import os
import signal
import subprocess
import sys
import time

import boto3

from local.stack import LocalStack
from tests.support.local_stack import (
    BUCKET,
    FIXTURE_IMAGE,
    FIXTURE_IMAGE_URI,
    ROLE,
    training_request,
    wait_for,
)


def test_python_m_local_stack_serves_until_sigterm(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", "0", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("AWS_ENDPOINT_URL=http://127.0.0.1:")
        sts = boto3.client(
            "sts",
            endpoint_url=line.split("=", 1)[1],
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def lifecycle_training(name: str, behaviour: str) -> dict:
    request = training_request(name, {"behaviour": behaviour})
    source = request["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    source["S3Uri"] = f"s3://{BUCKET}/data/lifecycle/"
    return request


def test_jobs_queue_when_every_slot_is_taken_and_children_end_with_the_stack(tmp_path):
    with LocalStack(
        workdir=tmp_path, extra_images={"fixture": FIXTURE_IMAGE}, job_slots=1, stop_grace_seconds=1
    ) as stack:
        s3, sagemaker = stack.client("s3"), stack.client("sagemaker")
        # Stacks in one process share moto's state: the session stack may have made the bucket.
        if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
            s3.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": stack.region}
            )
        s3.put_object(Bucket=BUCKET, Key="data/lifecycle/a.jsonl", Body=b"{}\n")
        sagemaker.create_training_job(**lifecycle_training("slot-a", "sleep"))
        wait_for(
            lambda: sagemaker.describe_training_job(TrainingJobName="slot-a"),
            "SecondaryStatus",
            ("Training",),
        )
        sagemaker.create_training_job(**lifecycle_training("slot-b", "succeed"))
        time.sleep(1.0)
        queued = sagemaker.describe_training_job(TrainingJobName="slot-b")
        assert (queued["TrainingJobStatus"], queued["SecondaryStatus"]) == (
            "InProgress",
            "Starting",
        )

        sagemaker.create_model(
            ModelName="lifecycle-model",
            PrimaryContainer={"Image": FIXTURE_IMAGE_URI},
            ExecutionRoleArn=ROLE,
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="lifecycle-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "lifecycle-model",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName="lifecycle", EndpointConfigName="lifecycle-config")
        wait_for(
            lambda: sagemaker.describe_endpoint(EndpointName="lifecycle"),
            "EndpointStatus",
            ("InService",),
        )
        backend = stack.service("sagemaker").backend
        pids = [backend.container_pid("slot-a"), *backend.server_pids("lifecycle")]
        assert len(pids) == 2 and None not in pids
        assert all(_alive(pid) for pid in pids)
    assert not any(_alive(pid) for pid in pids)
