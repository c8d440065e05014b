# GitLab CI authenticates to AWS with its ID token (no long-lived keys): an IAM OIDC provider for
# the GitLab instance, and a deploy role that only the configured protected refs can assume: the
# listed branches (exact names) and release tags (patterns such as v*), by GitLab's default sub
# claim project_path:<group>/<project>:ref_type:<branch|tag>:ref:<ref>. IAM can condition on aud
# and sub only, not on GitLab's ref_protected claim, and GitLab cannot put ref_protected into sub:
# that the refs are protected is GitLab's setting (protected branches and tags, see README.md).
# The role publishes images and the MWAA bundle, invokes the trigger Lambda and syncs Airflow
# (scripts/sync_airflow.py: pools and unpaused DAGs through MWAA InvokeRestApi, as the Op role).
# It cannot run terraform plan/apply: that is a separate, administrator-held role (see
# terraform/README.md).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  issuer_host  = trimsuffix(trimprefix(var.gitlab_url, "https://"), "/")
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.gitlab[0].arn : var.existing_oidc_provider_arn
  branch_subjects = flatten([
    for project in var.projects : [
      for branch in project.branches : "project_path:${project.path}:ref_type:branch:ref:${branch}"
    ]
  ])
  tag_subjects = flatten([
    for project in var.projects : [
      for tag in project.tags : "project_path:${project.path}:ref_type:tag:ref:${tag}"
    ]
  ])
  # StringLike: a tag pattern's * matches within the ref only (Git refs hold no ':' or '*').
  subjects       = concat(local.branch_subjects, local.tag_subjects)
  bundle_objects = [for key in var.mwaa_bundle_keys : "${var.mwaa_source_bucket_arn}/${key}"]

  # The sync creates and updates pools, which Airflow's User role may not; Op may (and may
  # pause/unpause DAGs). The Airflow role is part of the resource ARN MWAA checks InvokeRestApi on.
  sync_airflow_role     = "Op"
  sync_airflow_role_arn = "arn:${data.aws_partition.current.partition}:airflow:${var.region}:${data.aws_caller_identity.current.account_id}:role/${var.mwaa_environment_name}/${local.sync_airflow_role}"
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  count = var.create_oidc_provider ? 1 : 0

  url             = "https://${local.issuer_host}"
  client_id_list  = [var.audience]
  thumbprint_list = length(var.thumbprints) > 0 ? var.thumbprints : null
  tags            = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer_host}:aud"
      values   = [var.audience]
    }

    condition {
      test     = "StringLike"
      variable = "${local.issuer_host}:sub"
      values   = local.subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.role_name
  description          = "GitLab CI deploy role: images, MWAA bundle, DAG triggers, Airflow sync"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "TriggerDags"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.trigger_lambda_arn]
  }

  statement {
    sid       = "SyncAirflowAsOp"
    actions   = ["airflow:InvokeRestApi"]
    resources = [local.sync_airflow_role_arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }

  statement {
    sid = "PushProjectImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = var.ecr_repository_arns
  }

  statement {
    sid       = "ListMwaaBundle"
    actions   = ["s3:ListBucket"]
    resources = [var.mwaa_source_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = concat([var.dag_s3_path, "${var.dag_s3_path}*"], var.mwaa_bundle_keys)
    }
  }

  statement {
    sid       = "SyncDags"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${var.mwaa_source_bucket_arn}/${var.dag_s3_path}*"]
  }

  statement {
    sid       = "UploadBundleArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = local.bundle_objects
  }

  statement {
    sid       = "EncryptThroughS3AndEcr"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com", "ecr.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "gitlab-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
