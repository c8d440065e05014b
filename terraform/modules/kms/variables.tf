variable "alias" {
  description = "Alias of the key, without the alias/ prefix (for example mlops-dev)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias)) && !startswith(var.alias, "aws/")
    error_message = "alias must be 1-250 characters of letters, digits, /, _ or - and must not start with aws/."
  }
}

variable "description" {
  description = "Human-readable description of what the key protects."
  type        = string
  default     = "MLOps project key: S3, SageMaker, DynamoDB, SNS, Secrets Manager, Logs, Lambda, ECR, MWAA."
}

variable "via_services" {
  description = "Service names (the part before .<region>.amazonaws.com) through which principals of this account may use the key."
  type        = list(string)
  default     = ["airflow", "dynamodb", "ec2", "ecr", "lambda", "logs", "s3", "sagemaker", "secretsmanager", "sns", "sqs"]

  validation {
    condition     = length(var.via_services) > 0 && alltrue([for s in var.via_services : can(regex("^[a-z0-9-]+$", s))])
    error_message = "via_services must be a non-empty list of service names such as s3 or sagemaker."
  }
}

variable "key_administrator_arns" {
  description = "IAM roles or users that administer (not use) the key: its policy, grants, rotation and deletion. Required and non-empty: they are the only ones who can change the key policy (the account root is not one of them; KMS refuses a policy that locks out its caller)."
  type        = list(string)

  validation {
    condition     = length(var.key_administrator_arns) > 0 && alltrue([for arn in var.key_administrator_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "key_administrator_arns must name at least one IAM role or user ARN (arn:aws:iam::<account>:role/<name>); not the account root, whose IAM policies would then decide."
  }
}

variable "event_source_bucket_arns" {
  description = "Buckets whose event notifications S3 may send to SQS queues encrypted with this key (kms:GenerateDataKey and kms:Decrypt for s3.amazonaws.com on their behalf only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.event_source_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", arn))])
    error_message = "event_source_bucket_arns must be bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "rotation_period_in_days" {
  description = "Automatic rotation period of the key material, in days."
  type        = number
  default     = 365

  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560
    error_message = "rotation_period_in_days must be between 90 and 2560 (the KMS limits)."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion takes effect, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for the key."
  type        = map(string)
  default     = {}
}
