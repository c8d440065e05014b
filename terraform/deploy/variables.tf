variable "environment" {
  description = "Name of the environment (dev, prod); set by env/<environment>.tfvars."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "allowed_account_ids" {
  description = "AWS accounts this root may be applied to (guards against applying to the wrong account)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_account_ids) > 0 && alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must list 12-digit AWS account IDs."
  }
}

variable "name_prefix" {
  description = "Project prefix of SageMaker resource names and ECR repositories (settings key name_prefix)."
  type        = string
  default     = "mlops"
}

variable "image_tag" {
  description = "Tag of the processing, training, training-neuron and inference images to run."
  type        = string
}

variable "mwaa_environment_class" {
  description = "MWAA environment class (per environment: env/<environment>.tfvars)."
  type        = string
}

variable "mwaa_min_workers" {
  description = "Minimum number of MWAA workers (per environment: env/<environment>.tfvars)."
  type        = number
}

variable "mwaa_max_workers" {
  description = "Maximum number of MWAA workers (per environment: env/<environment>.tfvars)."
  type        = number
}

variable "mwaa_bundle_dir" {
  description = "Path of `make bundle`'s output relative to this folder; null to pass object versions instead."
  type        = string
  default     = "../../dist/mwaa"
}

variable "trigger_lambda_dependencies_dir" {
  description = "Path, relative to this folder, of the trigger Lambda's pip-installed dependencies (a folder holding python/), shipped as a layer. Null (default): the function zip carries them (CI pip-installs them into include/trigger_lambda) or the runtime's boto3 serves."
  type        = string
  default     = null
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt when mwaa_bundle_dir is null."
  type        = string
  default     = null
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip when mwaa_bundle_dir is null."
  type        = string
  default     = null
}

variable "startup_script_s3_object_version" {
  description = "S3 object version of startup.sh when mwaa_bundle_dir is null."
  type        = string
  default     = null
}

variable "create_vpc" {
  description = "Create the VPC (false: bring your own)."
  type        = bool
  default     = true
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC (per environment: env/<environment>.tfvars)."
  type        = string
}

variable "enable_nat_gateway" {
  description = "Internet egress through a NAT gateway (Slack webhooks, PyPI for MWAA requirements)."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "Existing VPC when create_vpc is false."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Existing private subnets when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "private_route_table_ids" {
  description = "Route tables of the existing private subnets when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "sns_subscriptions" {
  description = "Subscriptions to the notifications topic."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}

variable "winners_table_deletion_protection" {
  description = "Deletion protection of the winners and winners history tables."
  type        = bool
  default     = true
}

variable "data_capture_retention_days" {
  description = "Days the endpoints' captured requests and answers are kept (the model bucket's lifecycle expires them)."
  type        = number
  default     = 30

  validation {
    condition     = var.data_capture_retention_days >= 1
    error_message = "data_capture_retention_days must be at least 1."
  }
}

variable "gitlab_url" {
  description = "URL of the GitLab instance."
  type        = string
  default     = "https://gitlab.com"
}

variable "gitlab_projects" {
  description = "GitLab projects with the protected branches (exact names) and protected release tags (patterns such as v*) whose pipelines may assume the deploy role."
  type = list(object({
    path     = string
    branches = list(string)
    tags     = optional(list(string), [])
  }))
}

variable "create_gitlab_oidc_provider" {
  description = "Create the IAM OIDC provider for gitlab_url here (one per account). False (default): terraform/bootstrap made it with the CI's terraform roles; pass its gitlab_oidc_provider_arn output as existing_gitlab_oidc_provider_arn."
  type        = bool
  default     = false
}

variable "existing_gitlab_oidc_provider_arn" {
  description = "The account's GitLab OIDC provider when create_gitlab_oidc_provider is false (terraform/bootstrap's gitlab_oidc_provider_arn output)."
  type        = string
  default     = null
}

variable "ecr_replication_destinations" {
  description = "Accounts and regions this environment's registry replicates the project's images to (dev: prod's account), by digest with their tags; the destination lists this account in ecr_replication_source_account_ids."
  type = list(object({
    account_id = string
    region     = string
  }))
  default = []
}

variable "ecr_replication_source_account_ids" {
  description = "Accounts whose registries may replicate the project's images into this one (prod: dev's account)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Default tags of every resource."
  type        = map(string)
  default     = {}
}

variable "code_version" {
  description = "Git revision of the DAG package being deployed (CI: TF_VAR_code_version=$CI_COMMIT_SHORT_SHA); tagged on every SageMaker resource."
  type        = string
  default     = "unknown"
}

variable "key_administrator_arns" {
  description = "IAM roles or users that administer the project KMS key (key policy, grants, deletion); account data, set in account.tfvars. Nobody else can change the key's policy."
  type        = list(string)

  validation {
    condition     = length(var.key_administrator_arns) > 0
    error_message = "key_administrator_arns must name at least one IAM principal, or nobody could change the key's policy."
  }
}
