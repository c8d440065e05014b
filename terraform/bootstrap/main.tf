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
