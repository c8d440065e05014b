"""Create, on the local stack, the resources the DAGs expect under the names Terraform outputs.

Terraform owns these on AWS (terraform/); locally the same settings file names them and this module
creates them, so the DAGs run unchanged. Returns the settings with the values only known after
creation (the KMS key's ARN, for one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SETTINGS_FILE = REPO_ROOT / "include" / "config" / "settings.local.json"

SAGEMAKER_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def load_local_settings(path: Path = LOCAL_SETTINGS_FILE) -> dict[str, Any]:
    """The local settings template (include/config/settings.local.json)."""
    return json.loads(path.read_text())


def _ecr_repository(image_uri: str) -> str:
    """`<acct>.dkr.ecr.<region>.amazonaws.com/mlops/training:local` -> `mlops/training`."""
    return image_uri.split("/", 1)[1].rsplit(":", 1)[0]


def provision(client_for, settings: dict[str, Any]) -> dict[str, Any]:
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

    client_for("dynamodb").create_table(
        TableName=settings["winners_table"],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
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
