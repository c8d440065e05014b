"""Create, on the local stack, the resources the DAGs expect under the names Terraform outputs.

Terraform owns these on AWS (terraform/); locally the same settings file names them and this module
creates them, so the DAGs run unchanged. ``provision`` returns the settings with the values only
known after creation (the KMS key's ARN, for one); ``deploy_trigger_lambda`` deploys the project's
trigger Lambda (include/trigger_lambda) the way Terraform packages it, for the stack's generic
Lambda Invoke to run.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from mlops.winners import history_table_name, table_key_schema

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SETTINGS_FILE = REPO_ROOT / "include" / "config" / "settings.local.json"
TRIGGER_LAMBDA_DIR = REPO_ROOT / "include" / "trigger_lambda"
TRIGGER_LAMBDA_HANDLER = "handler.handler"  # include/trigger_lambda/handler.py: handler()

ClientFactory = Callable[[str], Any]  # service name -> boto3 client


class HasClients(Protocol):
    """What deploying needs of a stack: boto3 clients on it (``LocalStack`` is one)."""

    def client(self, service: str) -> Any: ...


def trust_policy(service_principal: str) -> dict[str, Any]:
    """An IAM trust policy that lets ``service_principal`` (e.g. ``lambda.amazonaws.com``)
    assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
            }
        ],
    }


SAGEMAKER_TRUST_POLICY = trust_policy("sagemaker.amazonaws.com")
LAMBDA_TRUST_POLICY = trust_policy("lambda.amazonaws.com")


def load_local_settings(path: Path = LOCAL_SETTINGS_FILE) -> dict[str, Any]:
    """The local settings template (include/config/settings.local.json)."""
    return json.loads(path.read_text())


def _ecr_repository(image_uri: str) -> str:
    """`<acct>.dkr.ecr.<region>.amazonaws.com/mlops/training:local` -> `mlops/training`."""
    return image_uri.split("/", 1)[1].rsplit(":", 1)[0]


def provision(client_for: ClientFactory, settings: dict[str, Any]) -> dict[str, Any]:
    """Create the project's resources; ``client_for(service)`` returns a boto3 client."""
    settings = dict(settings)
    prefix, env = settings["name_prefix"], settings["environment"]

    kms = client_for("kms")
    key = kms.create_key(
        Description=f"{prefix}-{env} data key (local)",
        Tags=[{"TagKey": "project", "TagValue": prefix}],
    )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=f"alias/{prefix}-{env}", TargetKeyId=key["KeyId"])
    settings["kms_key_arn"] = key["Arn"]

    s3 = client_for("s3")
    for bucket in (settings["data_bucket"], settings["model_bucket"]):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings["region"]}
        )
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key["Arn"],
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )

    dynamodb = client_for("dynamodb")
    settings.setdefault("winners_history_table", history_table_name(settings["winners_table"]))
    for table in (settings["winners_table"], settings["winners_history_table"]):
        dynamodb.create_table(
            TableName=table,
            **table_key_schema(),
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key["Arn"]},
        )

    topic_name = settings["sns_topic_arn"].rsplit(":", 1)[1]
    settings["sns_topic_arn"] = client_for("sns").create_topic(
        Name=topic_name, Attributes={"KmsMasterKeyId": key["Arn"]}
    )["TopicArn"]

    role_name = settings["sagemaker_execution_role_arn"].rsplit("/", 1)[1]
    settings["sagemaker_execution_role_arn"] = client_for("iam").create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST_POLICY)
    )["Role"]["Arn"]

    ecr = client_for("ecr")
    for key_name in (
        "processing_image_uri",
        "training_image_uri",
        "training_neuron_image_uri",
        "inference_image_uri",
    ):
        repository = _ecr_repository(settings[key_name])
        try:
            ecr.create_repository(
                repositoryName=repository,
                imageTagMutability="IMMUTABLE",
                encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key["Arn"]},
            )
        except ecr.exceptions.RepositoryAlreadyExistsException:
            pass  # training and training-neuron may share nothing, but URIs may repeat
    return settings


def trigger_lambda_zip(source: Path = TRIGGER_LAMBDA_DIR) -> bytes:
    """The trigger Lambda's deployment zip, as Terraform packages it (the folder's code and the
    conf schemas it validates against)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted([*source.glob("*.py"), *source.glob("*.json")]):
            archive.write(path, path.name)
    return buffer.getvalue()


def deploy_trigger_lambda(
    stack: HasClients,
    *,
    environment_name: str,
    function_name: str = "mlops-local-trigger",
    airflow_ui_base_url: str = "",
    extra_environment: dict[str, str] | None = None,
    timeout_seconds: int = 60,
) -> str:
    """Create the trigger Lambda on ``stack`` from include/trigger_lambda (its role too, once),
    configured for the MWAA environment ``environment_name``; returns the function's ARN."""
    iam = stack.client("iam")
    role_name = f"{function_name}-role"
    try:
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(
            RoleName=role_name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY)
        )["Role"]["Arn"]
    variables = {"MWAA_ENVIRONMENT_NAME": environment_name}
    if airflow_ui_base_url:
        variables["AIRFLOW_UI_BASE_URL"] = airflow_ui_base_url
    variables.update(extra_environment or {})
    created = stack.client("lambda").create_function(
        FunctionName=function_name,
        Runtime="python3.12",
        Role=role_arn,
        Handler=TRIGGER_LAMBDA_HANDLER,
        Code={"ZipFile": trigger_lambda_zip()},
        Timeout=timeout_seconds,
        Environment={"Variables": variables},
    )
    return str(created["FunctionArn"])


def provision_landing(
    client_for: ClientFactory, settings: dict[str, Any], models: list[Any]
) -> str:
    """The landing queues of ``models`` (one per model and data kind, each with its dead-letter
    queue, KMS-encrypted) and the data bucket's notification to them, as Terraform makes them
    (mlops.events). Returns the queues' URL prefix, the value of Airflow's
    ``[mlops] landing_queue_url_prefix``."""
    from mlops import events

    problems = events.overlapping_filters(models)
    if problems:
        raise ValueError("; ".join(problems))
    sqs = client_for("sqs")
    queue_prefix = f"{settings['name_prefix']}-{settings['environment']}"
    encryption = {"KmsMasterKeyId": settings["kms_key_arn"], "KmsDataKeyReusePeriodSeconds": "300"}
    configurations = []
    url_prefix = ""
    for model in models:
        for kind in events.LANDING_KINDS:
            name = events.queue_name(queue_prefix, model, kind)
            dead_letters = sqs.create_queue(QueueName=f"{name}-dlq", Attributes=encryption)
            dead_letters_arn = sqs.get_queue_attributes(
                QueueUrl=dead_letters["QueueUrl"], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            url = sqs.create_queue(
                QueueName=name,
                Attributes=encryption
                | {
                    "RedrivePolicy": json.dumps(
                        {"deadLetterTargetArn": dead_letters_arn, "maxReceiveCount": "5"}
                    )
                },
            )["QueueUrl"]
            url_prefix = url.removesuffix(events.queue_suffix(model, kind))
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            rules = events.notification_filter(model, kind)
            configurations.append(
                {
                    "Id": name,
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": rules["prefix"]},
                                {"Name": "suffix", "Value": rules["suffix"]},
                            ]
                        }
                    },
                }
            )
    client_for("s3").put_bucket_notification_configuration(
        Bucket=settings["data_bucket"],
        NotificationConfiguration={"QueueConfigurations": configurations},
    )
    return url_prefix
