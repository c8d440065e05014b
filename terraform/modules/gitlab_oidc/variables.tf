variable "gitlab_url" {
  description = "URL of the GitLab instance that issues CI ID tokens, e.g. https://gitlab.com."
  type        = string
  default     = "https://gitlab.com"

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+(:[0-9]+)?/?$", var.gitlab_url))
    error_message = "gitlab_url must be an https:// URL of the GitLab host, without a path."
  }
}

variable "audience" {
  description = "aud claim the CI jobs request in their id_tokens (aud: in .gitlab-ci.yml)."
  type        = string
  default     = "sts.amazonaws.com"
}

variable "thumbprints" {
  description = "TLS certificate thumbprints of the issuer; empty lets AWS verify against its trusted CAs."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.thumbprints : can(regex("^[0-9a-fA-F]{40}$", t))])
    error_message = "thumbprints must be 40-hex-digit SHA-1 fingerprints."
  }
}

variable "create_oidc_provider" {
  description = "Create the IAM OIDC provider (one per account and URL); false: pass existing_oidc_provider_arn."
  type        = bool
  default     = true
}

variable "existing_oidc_provider_arn" {
  description = "ARN of an existing IAM OIDC provider for gitlab_url when create_oidc_provider is false."
  type        = string
  default     = null

  validation {
    condition     = var.create_oidc_provider || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/", var.existing_oidc_provider_arn))
    error_message = "existing_oidc_provider_arn must be an IAM OIDC provider ARN when create_oidc_provider is false."
  }
}

variable "projects" {
  description = "GitLab projects (group/project paths) whose protected branches (exact names) and protected release tags (IAM StringLike patterns, e.g. v*) may assume the deploy role."
  type = list(object({
    path     = string
    branches = list(string)
    tags     = optional(list(string), [])
  }))

  validation {
    condition = length(var.projects) > 0 && alltrue([
      for p in var.projects : can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", p.path)) && length(p.branches) > 0 &&
      alltrue([for b in p.branches : can(regex("^[^*?:]+$", b))]) &&
      alltrue([for t in p.tags : can(regex("^[A-Za-z0-9][^*?:]*[*]?$", t))])
    ])
    error_message = "projects must list group/project paths, each with at least one branch name (no wildcards) and optional tag patterns (a name, or a prefix ending in one *, such as v*)."
  }
}

variable "role_name" {
  description = "Name of the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be a valid IAM role name."
  }
}

variable "max_session_duration" {
  description = "Longest session of the deploy role, in seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 900 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 900 and 43200 seconds."
  }
}

variable "region" {
  description = "Region of the environment: its S3 and ECR endpoints (kms:ViaService) and its MWAA environment."
  type        = string
}

variable "trigger_lambda_arn" {
  description = "ARN of the trigger Lambda the role may invoke."
  type        = string
}

variable "mwaa_environment_name" {
  description = "MWAA environment the sync job (scripts/sync_airflow.py) calls InvokeRestApi on, as its Op role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][0-9A-Za-z_-]{0,79}$", var.mwaa_environment_name))
    error_message = "mwaa_environment_name must be an MWAA environment name (a letter, then up to 79 letters, digits, - or _)."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories the role may push to."
  type        = list(string)
}

variable "mwaa_source_bucket_arn" {
  description = "ARN of the MWAA source bucket."
  type        = string
}

variable "dag_s3_path" {
  description = "DAG folder in the source bucket the role may sync (with deletes)."
  type        = string
  default     = "dags/"

  validation {
    condition     = endswith(var.dag_s3_path, "/")
    error_message = "dag_s3_path must end with /."
  }
}

variable "mwaa_bundle_keys" {
  description = "Keys of the bundle artifacts the role may upload (requirements, plugins, startup script)."
  type        = list(string)
  default     = ["requirements.txt", "plugins.zip", "startup.sh"]
}

variable "kms_key_arn" {
  description = "ARN of the project KMS key (S3 objects and images)."
  type        = string
}

variable "tags" {
  description = "Tags for the provider and the role."
  type        = map(string)
  default     = {}
}
