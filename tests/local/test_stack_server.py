"""The stack's HTTP front: loopback only, moto behind it, services registered in one line."""

import socket

import boto3
import pytest
from werkzeug.wrappers import Response

from local.stack import LocalStack, register_service
from local.stack import server as stack_server


def test_listens_on_loopback_only_on_a_free_port(stack):
    host, port = stack._server.server_address[:2]
    assert host == "127.0.0.1"
    assert port > 0
    assert stack.endpoint_url == f"http://127.0.0.1:{port}"


def test_moto_serves_s3_dynamodb_sns_kms_logs_sts_behind_the_endpoint(stack):
    s3 = stack.client("s3")
    s3.create_bucket(
        Bucket="bucket-one", CreateBucketConfiguration={"LocationConstraint": stack.region}
    )
    s3.put_object(Bucket="bucket-one", Key="k", Body=b"hello")
    assert s3.get_object(Bucket="bucket-one", Key="k")["Body"].read() == b"hello"
    assert stack.client("sts").get_caller_identity()["Account"] == stack.account_id
    key = stack.client("kms").create_key()["KeyMetadata"]["Arn"]
    assert key.startswith(f"arn:aws:kms:{stack.region}:")
    assert "TopicArn" in stack.client("sns").create_topic(Name="t")
    stack.client("logs").create_log_group(logGroupName="/g")


def test_boto3_reaches_the_stack_through_aws_endpoint_url(stack, monkeypatch):
    for name, value in stack.environ().items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(
        Bucket="via-env", CreateBucketConfiguration={"LocationConstraint": stack.region}
    )
    names = [b["Name"] for b in stack.client("s3").list_buckets()["Buckets"]]
    assert "via-env" in names


def test_a_registered_service_answers_requests_signed_for_its_name(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_server, "_ROUTES", list(stack_server._ROUTES))
    register_service("airflow", lambda stack: Response(b'{"RestApiStatusCode": 200}'))
    with LocalStack(workdir=tmp_path) as own:
        mwaa = own.client("mwaa")
        answer = mwaa.invoke_rest_api(Name="env", Method="GET", Path="/dags")
        assert answer["RestApiStatusCode"] == 200


def test_stopping_the_stack_closes_its_port(tmp_path):
    with LocalStack(workdir=tmp_path) as own:
        port = own._server.server_port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def _stored(stack, bucket: str, key: str):
    """moto's record of an S3 object in this process (the stack serves moto in-process)."""
    from moto.s3.models import s3_backends

    return s3_backends[stack.account_id]["global"].buckets[bucket].keys[key]


def test_s3_objects_past_the_in_memory_limit_are_kept_on_disk_not_in_the_stack(stack):
    s3 = stack.client("s3")
    s3.create_bucket(
        Bucket="spooled", CreateBucketConfiguration={"LocationConstraint": stack.region}
    )
    small = b"x" * (stack_server.S3_IN_MEMORY_OBJECT_BYTES // 2)
    large = b"y" * (stack_server.S3_IN_MEMORY_OBJECT_BYTES * 4)  # 1 MiB, under moto's 5 MiB
    s3.put_object(Bucket="spooled", Key="small", Body=small)
    s3.put_object(Bucket="spooled", Key="large", Body=large)
    assert not _stored(stack, "spooled", "small")._value_buffer._rolled
    assert _stored(stack, "spooled", "large")._value_buffer._rolled  # a temp file
    assert s3.get_object(Bucket="spooled", Key="large")["Body"].read() == large
