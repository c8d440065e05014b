# The roles GitLab CI runs Terraform with, kept apart from the deploy role (modules/gitlab_oidc)
# and made by the administrator-applied bootstrap root, so that no pipeline manages its own trust:
# - plan: any branch or tag pipeline of the projects (merge requests included) may assume it;
#   read-only (AWS's ReadOnlyAccess) plus what `terraform plan` writes: the state lock object.
# - apply: only the protected refs (exact branch names, release tag patterns), as the deploy role;
#   the permissions the administrator attaches, plus read/write of the state.
# Both are matched on GitLab's default sub claim, project_path:<p>:ref_type:<branch|tag>:ref:<ref>
# (IAM conditions on aud and sub only; ref_protected is GitLab's setting, see terraform/README.md).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition    = data.aws_partition.current.partition
  account_id   = data.aws_caller_identity.current.account_id
  issuer_host  = trimsuffix(trimprefix(var.gitlab_url, "https://"), "/")
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.gitlab[0].arn : var.existing_oidc_provider_arn

  apply_branch_subjects = flatten([
    for project in var.projects : [
      for branch in project.branches : "project_path:${project.path}:ref_type:branch:ref:${branch}"
    ]
  ])
  apply_tag_subjects = flatten([
    for project in var.projects : [
      for tag in project.tags : "project_path:${project.path}:ref_type:tag:ref:${tag}"
    ]
  ])
  apply_subjects = concat(local.apply_branch_subjects, local.apply_tag_subjects)
  # Every branch (a merge request's pipeline carries its source branch) and every tag.
  plan_subjects = flatten([
    for project in var.projects : [
      "project_path:${project.path}:ref_type:branch:ref:*",
      "project_path:${project.path}:ref_type:tag:ref:*",
    ]
  ])

  state_objects = "${var.state_bucket_arn}/${var.state_key_prefix}*"
  state_locks   = "${var.state_bucket_arn}/${var.state_key_prefix}*.tflock"
}

resource "aws_iam_openid_connect_provider" "gitlab" {
  count = var.create_oidc_provider ? 1 : 0

  url             = "https://${local.issuer_host}"
  client_id_list  = [var.audience]
  thumbprint_list = length(var.thumbprints) > 0 ? var.thumbprints : null
  tags            = var.tags
}

data "aws_iam_policy_document" "plan_trust" {
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
      values   = local.plan_subjects
    }
  }
}

data "aws_iam_policy_document" "apply_trust" {
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
      values   = local.apply_subjects
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = var.plan_role_name
  description          = "GitLab CI terraform plan (any branch or tag, read-only)"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role" "apply" {
  name                 = var.apply_role_name
  description          = "GitLab CI terraform apply (protected refs only)"
  assume_role_policy   = data.aws_iam_policy_document.apply_trust.json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

# Read-only: describes and lists every resource type the configuration refreshes. It holds no
# kms:Decrypt, so it cannot read SSE-KMS objects (data, models) nor secrets beyond the statement
# below.
resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy_attachment" "apply" {
  for_each = toset(var.apply_policy_arns)

  role       = aws_iam_role.apply.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = [local.state_objects]
  }

  statement {
    sid       = "HoldTheStateLock"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = [local.state_locks]
  }

  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
    }
  }

  # Refreshing aws_secretsmanager_secret_version reads the settings secret (bucket names and ARNs,
  # no credentials); only the Airflow Variables prefix, and its key only through Secrets Manager.
  statement {
    sid       = "RefreshSettingsSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:*:${local.account_id}:secret:${var.readable_secret_prefix}*"]
  }

  statement {
    sid       = "DecryptSettingsSecret"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["secretsmanager.*.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "plan" {
  name   = "terraform-plan-state"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

data "aws_iam_policy_document" "apply" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }

  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.state_objects]
  }

  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "apply" {
  name   = "terraform-apply-state"
  role   = aws_iam_role.apply.id
  policy = data.aws_iam_policy_document.apply.json
}
