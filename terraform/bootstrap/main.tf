# The Terraform state bucket of one account: KMS-encrypted, versioned, private, access-logged.
# The env roots keep their state here with S3-native locking (use_lockfile).
module "kms" {
  source = "../modules/kms"

  alias       = "${var.state_bucket_name}-state"
  description = "Terraform state of ${var.state_bucket_name}"
  tags        = var.tags
}

module "access_log_bucket" {
  source = "../modules/s3_bucket"

  name                 = "${var.state_bucket_name}-access-logs"
  kms_key_arn          = module.kms.key_arn
  is_access_log_target = true
  expiration_days      = 365
  tags                 = var.tags
}

module "state_bucket" {
  source = "../modules/s3_bucket"

  name                               = var.state_bucket_name
  kms_key_arn                        = module.kms.key_arn
  access_log_bucket                  = module.access_log_bucket.name
  noncurrent_version_expiration_days = var.noncurrent_state_version_days
  tags                               = var.tags
}

# The roles GitLab CI plans and applies terraform/deploy with (TERRAFORM_PLAN_ROLE_ARN,
# TERRAFORM_APPLY_ROLE_ARN in .gitlab-ci.yml), and the account's GitLab OIDC provider, which the
# deploy root's deploy role then uses (existing_gitlab_oidc_provider_arn).
module "gitlab_terraform_roles" {
  source = "../modules/gitlab_terraform_roles"

  gitlab_url                 = var.gitlab_url
  create_oidc_provider       = var.create_gitlab_oidc_provider
  existing_oidc_provider_arn = var.existing_gitlab_oidc_provider_arn
  projects                   = var.gitlab_projects
  plan_role_name             = "${var.name_prefix}-terraform-plan"
  apply_role_name            = "${var.name_prefix}-terraform-apply"
  apply_policy_arns          = var.terraform_apply_policy_arns
  permissions_boundary_arn   = var.terraform_permissions_boundary_arn
  state_bucket_arn           = module.state_bucket.arn
  state_kms_key_arn          = module.kms.key_arn
  state_key_prefix           = "${var.name_prefix}/"
  tags                       = var.tags
}
