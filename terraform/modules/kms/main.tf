# The project key. Only the principals in var.key_administrator_arns administer it (policy, grants,
# deletion); the account root gets no administration, so an IAM policy elsewhere in the account
# cannot give anyone else kms:PutKeyPolicy or kms:CreateGrant on it. Cryptographic use is
# allowed only when the call arrives through one of the services listed in var.via_services (so a
# role that may use the key still cannot decrypt data outside those services), plus the
# service principals that encrypt on their own behalf: CloudWatch Logs, S3 access logging, S3 event
# notifications into encrypted queues (for the buckets named) and CloudWatch alarms to encrypted
# topics.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  account    = "arn:${local.partition}:iam::${local.account_id}:root"

  via_service_endpoints = [for service in var.via_services : "${service}.${local.region}.amazonaws.com"]
}

data "aws_iam_policy_document" "key" {
  source_policy_documents = data.aws_iam_policy_document.s3_event_notifications[*].json

  statement {
    sid       = "KeyAdministration"
    effect    = "Allow"
    resources = ["*"] # in a key policy "*" means this key
    actions = [
      "kms:CancelKeyDeletion",
      "kms:Create*",
      "kms:Delete*",
      "kms:Describe*",
      "kms:Disable*",
      "kms:Enable*",
      "kms:Get*",
      "kms:List*",
      "kms:Put*",
      "kms:Revoke*",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:Update*",
    ]

    principals {
      type        = "AWS"
      identifiers = var.key_administrator_arns
    }
  }

  # Reading the key's metadata and policy stays with the account's IAM (a read-only plan role, the
  # console): no administration, no cryptographic use.
  statement {
    sid       = "ReadKeyMetadataThroughIam"
    effect    = "Allow"
    resources = ["*"]
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]

    principals {
      type        = "AWS"
      identifiers = [local.account]
    }
  }

  statement {
    sid       = "UseThroughProjectServices"
    effect    = "Allow"
    resources = ["*"]
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]

    principals {
      type        = "AWS"
      identifiers = [local.account]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.via_service_endpoints
    }
  }

  statement {
    sid       = "GrantsForProjectServices"
    effect    = "Allow"
    resources = ["*"]
    actions   = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]

    principals {
      type        = "AWS"
      identifiers = [local.account]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.via_service_endpoints
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid       = "CloudWatchLogsForThisAccount"
    effect    = "Allow"
    resources = ["*"]
    actions = [
      "kms:Decrypt*",
      "kms:Describe*",
      "kms:Encrypt*",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # CloudWatch alarms of this account publishing to topics this key encrypts.
  statement {
    sid       = "CloudWatchAlarmsToEncryptedTopics"
    effect    = "Allow"
    resources = ["*"]
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "S3ServerAccessLogDelivery"
    effect    = "Allow"
    resources = ["*"]
    actions   = ["kms:GenerateDataKey"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# S3 event notifications into queues this key encrypts: SQS asks KMS for a data key on behalf of
# S3, for these buckets' events only (a separate document, so that a key without such buckets has
# no such statement).
data "aws_iam_policy_document" "s3_event_notifications" {
  count = length(var.event_source_bucket_arns) > 0 ? 1 : 0

  statement {
    sid       = "S3EventNotificationsToEncryptedQueues"
    effect    = "Allow"
    resources = ["*"]
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = var.event_source_bucket_arns
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = var.rotation_period_in_days
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
