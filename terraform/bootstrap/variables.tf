variable "region" {
  description = "AWS region of the state bucket."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "allowed_account_ids" {
  description = "AWS accounts this root may be applied to."
  type        = list(string)

  validation {
    condition     = length(var.allowed_account_ids) > 0 && alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must list 12-digit AWS account IDs."
  }
}

variable "state_bucket_name" {
  description = "Globally unique name of the state bucket, e.g. mlops-terraform-state-<account id>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,49}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-51 lowercase letters, digits, dots or hyphens (a suffix is added for the log bucket)."
  }
}

variable "noncurrent_state_version_days" {
  description = "Days old state versions are kept (they are the undo history of every apply)."
  type        = number
  default     = 365

  validation {
    condition     = var.noncurrent_state_version_days >= 30
    error_message = "noncurrent_state_version_days must be at least 30."
  }
}

variable "name_prefix" {
  description = "Project prefix (terraform/deploy's name_prefix): names the CI roles and is the state key prefix they may use."
  type        = string
  default     = "mlops"
}

variable "gitlab_url" {
  description = "URL of the GitLab instance whose CI plans and applies."
  type        = string
  default     = "https://gitlab.com"
}

variable "create_gitlab_oidc_provider" {
  description = "Create the account's IAM OIDC provider for gitlab_url here (false: pass existing_gitlab_oidc_provider_arn)."
  type        = bool
  default     = true
}

variable "existing_gitlab_oidc_provider_arn" {
  description = "ARN of an existing IAM OIDC provider for gitlab_url when create_gitlab_oidc_provider is false."
  type        = string
  default     = null
}

variable "gitlab_projects" {
  description = "GitLab projects: all their pipelines may plan; only the protected branches (exact names) and release tags (patterns such as v*) listed may apply."
  type = list(object({
    path     = string
    branches = list(string)
    tags     = optional(list(string), [])
  }))
}

variable "terraform_apply_policy_arns" {
  description = "Managed policies of the apply role (what terraform/deploy creates needs broad rights: IAM, KMS, VPC, MWAA, SageMaker...)."
  type        = list(string)
}

variable "terraform_permissions_boundary_arn" {
  description = "Permissions boundary of the plan and apply roles (null: none)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Default tags of every resource."
  type        = map(string)
  default     = {}
}
