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
  description = "GitLab projects (group/project paths): any of their branch and tag pipelines may plan; only the protected branches (exact names) and release tags (IAM StringLike patterns, e.g. v*) listed may apply."
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

variable "plan_role_name" {
  description = "Name of the read-only plan role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.plan_role_name))
    error_message = "plan_role_name must be a valid IAM role name."
  }
}

variable "apply_role_name" {
  description = "Name of the apply role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.apply_role_name))
    error_message = "apply_role_name must be a valid IAM role name."
  }
}

variable "apply_policy_arns" {
  description = "Managed policies of the apply role: what creating and changing terraform/deploy's resources needs (IAM roles, KMS, VPC, MWAA, SageMaker, ...). No default: the account administrator chooses them."
  type        = list(string)

  validation {
    condition     = length(var.apply_policy_arns) > 0 && alltrue([for a in var.apply_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/", a))])
    error_message = "apply_policy_arns must list at least one IAM managed policy ARN."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of both roles (null: none)."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Longest session of the plan and apply roles, in seconds (an MWAA update takes up to 30 minutes)."
  type        = number
  default     = 7200

  validation {
    condition     = var.max_session_duration >= 900 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 900 and 43200 seconds."
  }
}

variable "state_bucket_arn" {
  description = "ARN of the Terraform state bucket."
  type        = string
}

variable "state_kms_key_arn" {
  description = "ARN of the key that encrypts the state bucket."
  type        = string
}

variable "state_key_prefix" {
  description = "Prefix of the state objects the roles may read (plan) or write (apply), e.g. mlops/ (env/<env>.backend.hcl's key)."
  type        = string
  default     = "mlops/"

  validation {
    condition     = endswith(var.state_key_prefix, "/") && !strcontains(var.state_key_prefix, "*")
    error_message = "state_key_prefix must end with / and hold no wildcard."
  }
}

variable "readable_secret_prefix" {
  description = "Secrets Manager name prefix whose values the plan role may read (refreshing the settings secret's version): the Airflow Variables prefix."
  type        = string
  default     = "airflow/variables/"
}

variable "tags" {
  description = "Tags for the provider and the roles."
  type        = map(string)
  default     = {}
}
