"""Data-driven starts on the local stack: the landing queues and the bucket notification that
provisioning makes (as Terraform does), what an upload sends where, and the duplicate guards."""

import json

import pytest
from mlops import events, steps
from mlops.config import get_model
from mlops.naming import model_package_group_name
from mlops.settings import parse_settings

from local.provision import load_local_settings, provision, provision_landing

MODELS = [get_model("de"), get_model("de-batteries"), get_model("gb")]


@pytest.fixture(scope="module")
def landing(stack):
    # The session stack is shared (moto keeps one state per process) and other modules
    # provision the local settings' names on it: this module's environment has its own.
    ours = "mlops-landing"
    settings = provision(
        stack.client,
        load_local_settings()
        | {
            "name_prefix": "mlopsland",
            "environment": "landing",
            "data_bucket": f"{ours}-data",
            "model_bucket": f"{ours}-models",
            "winners_table": f"{ours}-winners",
            "sns_topic_arn": f"arn:aws:sns:eu-west-1:123456789012:{ours}-notifications",
            "sagemaker_execution_role_arn": f"arn:aws:iam::123456789012:role/{ours}-sagemaker",
        },
    )
    url_prefix = provision_landing(stack.client, settings, MODELS)
    sqs = stack.client("sqs")
    # S3 announces a new notification configuration with an s3:TestEvent on every queue.
    for model in MODELS:
        for kind in events.LANDING_KINDS:
            sqs.purge_queue(QueueUrl=url_prefix + events.queue_suffix(model, kind))
    return settings, url_prefix


def _receive(sqs, url: str) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )


def test_each_model_and_kind_has_an_encrypted_queue_with_a_dead_letter_queue(stack, landing):
    settings, url_prefix = landing
    sqs = stack.client("sqs")
    for model in MODELS:
        for kind in events.LANDING_KINDS:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url_prefix + events.queue_suffix(model, kind), AttributeNames=["All"]
            )["Attributes"]
            assert attributes["KmsMasterKeyId"] == settings["kms_key_arn"]
            redrive = json.loads(attributes["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"].endswith(
                events.queue_name("mlopsland-landing", model, kind) + "-dlq"
            )


def test_a_marker_reaches_only_its_own_models_queue_and_data_files_reach_none(stack, landing):
    settings, url_prefix = landing
    s3, sqs = stack.client("s3"), stack.client("sqs")
    bucket = settings["data_bucket"]
    s3.put_object(Bucket=bucket, Key="de/2026-10/labeled/part-0.jsonl", Body=b"{}\n")
    s3.put_object(Bucket=bucket, Key=events.marker_key(MODELS[0], "2026-10", "labeled"), Body=b"")
    received = {
        (model.key, kind): _receive(sqs, url_prefix + events.queue_suffix(model, kind))
        for model in MODELS
        for kind in events.LANDING_KINDS
    }
    assert {where for where, messages in received.items() if messages} == {("de", "labeled")}
    (message,) = received[("de", "labeled")]
    extra = {"from_trigger": True, "payload": {"message_batch": [message]}}
    landed = events.landing_from_events(MODELS[0], "labeled", bucket, [extra])
    assert landed.months == ("2026-10",) and landed.ignored == ()


def test_a_replayed_marker_never_trains_a_month_twice(stack, landing):
    settings = parse_settings(landing[0])
    sagemaker = stack.client("sagemaker")
    model = MODELS[1]
    group = model_package_group_name(settings.name_prefix, model.key)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": settings.inference_image_uri,
                    "ModelDataUrl": f"s3://{settings.model_bucket}/m/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
        CustomerMetadataProperties={"data_month": "2026-10"},
    )["ModelPackageArn"]
    trained = steps.training_month(
        sagemaker, settings, model, steps.RunMonth("2026-10", "labeled marker of 2026-10")
    )
    assert trained.month is None and arn in trained.reason
    untrained = steps.training_month(
        sagemaker, settings, model, steps.RunMonth("2026-11", "labeled marker of 2026-11")
    )
    assert untrained.month == "2026-11"
    # A model whose group does not exist yet (its first month) trains.
    first = steps.training_month(sagemaker, settings, MODELS[2], steps.RunMonth("2026-10", "x"))
    assert first.month == "2026-10"


def test_a_month_whose_predictions_exist_is_not_scored_again(stack, landing):
    settings = parse_settings(landing[0])
    s3 = stack.client("s3")
    model = MODELS[2]
    chosen = steps.RunMonth("2026-10", "unlabeled marker of 2026-10")
    assert steps.batch_month(s3, settings, model, chosen).month == "2026-10"
    s3.put_object(
        Bucket=settings.data_bucket, Key="gb/2026-10/predictions/part-0.jsonl.out", Body=b"{}\n"
    )
    scored = steps.batch_month(s3, settings, model, chosen)
    assert scored.month is None and "scored already" in scored.reason


def test_a_fallback_run_skips_a_month_whose_marker_has_not_landed(stack, landing):
    # The cron fallback of the 2nd of the month chooses the previous month: if it waited for
    # that month's input, the one-at-a-time batch DAG would hold back the event-started run of
    # a late earlier month behind it for up to a day.
    settings = parse_settings(landing[0])
    s3 = stack.client("s3")
    model = MODELS[2]
    fallback = steps.run_month(
        model, "unlabeled", settings.data_bucket, param="", extras=[], fallback="2026-08"
    )
    assert fallback.fallback and fallback.month == "2026-08"
    s3.put_object(
        Bucket=settings.data_bucket, Key="gb/2026-08/unlabeled/part-0.jsonl", Body=b"{}\n"
    )
    waiting = steps.batch_month(s3, settings, model, fallback)
    assert waiting.month is None, waiting
    assert "gb/2026-08/unlabeled/_SUCCESS has not landed" in waiting.reason
    # An announced month (its marker's event) is never held to this: the event is the marker.
    announced = steps.RunMonth("2026-08", "unlabeled marker of 2026-08")
    assert steps.batch_month(s3, settings, model, announced).month == "2026-08"
    # Once the marker is there (its event was lost), the fallback scores the month.
    s3.put_object(
        Bucket=settings.data_bucket, Key=events.marker_key(model, "2026-08", "unlabeled"), Body=b""
    )
    assert steps.batch_month(s3, settings, model, fallback).month == "2026-08"
    # Training's fallback (a cron, off by default) follows the same rule for labeled months.
    labeled = steps.run_month(
        model, "labeled", settings.data_bucket, param="", extras=[], fallback="2026-08"
    )
    held = steps.fallback_landed(s3, settings, model, labeled, "labeled")
    assert held.month is None and "gb/2026-08/labeled/_SUCCESS has not landed" in held.reason
