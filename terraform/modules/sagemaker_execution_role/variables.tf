variable "name" {
  description = "Name of the IAM role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be a valid IAM role name (1-64 characters)."
  }
}

variable "name_prefix" {
  description = "Project name prefix (documents which SageMaker resources use the role)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){0,11}$", var.name_prefix))
    error_message = "name_prefix must be 1-12 lowercase letters and digits, single hyphens between them (SageMaker tuning job names, which start with it, are limited to 32 characters)."
  }
}

variable "bucket_arns" {
  description = "ARNs of the buckets jobs list and read (data and model buckets); they write only under data_output_keys and model_output_keys."
  type        = list(string)

  validation {
    condition     = length(var.bucket_arns) > 0 && alltrue([for arn in var.bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", arn))])
    error_message = "bucket_arns must be a non-empty list of bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket (labeled and unlabeled months, code tables, golden sets, predictions)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.data_bucket_arn))
    error_message = "data_bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "model_bucket_arn" {
  description = "ARN of the model bucket (run artifacts, data capture)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.model_bucket_arn))
    error_message = "model_bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "data_output_keys" {
  description = "Key patterns in the data bucket the jobs write under (IAM wildcards; e.g. de/2???-??/predictions/): every other key of the data bucket stays read-only to the role."
  type        = list(string)

  validation {
    condition     = length(var.data_output_keys) > 0 && alltrue([for key in var.data_output_keys : can(regex("^[A-Za-z0-9._?-][A-Za-z0-9._/?-]*/$", key))])
    error_message = "data_output_keys must be a non-empty list of key prefixes ending in / (no '*': a prefix, not the whole bucket)."
  }
}

variable "model_output_keys" {
  description = "Key patterns in the model bucket the jobs and endpoints write under (e.g. de/runs/, de/data-capture/)."
  type        = list(string)

  validation {
    condition     = length(var.model_output_keys) > 0 && alltrue([for key in var.model_output_keys : can(regex("^[A-Za-z0-9._?-][A-Za-z0-9._/?-]*/$", key))])
    error_message = "model_output_keys must be a non-empty list of key prefixes ending in / (no '*': a prefix, not the whole bucket)."
  }
}

variable "ecr_repository_arns" {
  description = "ARNs of the ECR repositories the jobs pull images from."
  type        = list(string)

  validation {
    condition     = length(var.ecr_repository_arns) > 0 && alltrue([for arn in var.ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:", arn))])
    error_message = "ecr_repository_arns must be a non-empty list of ECR repository ARNs."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project KMS key (S3 objects, volumes, outputs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "vpc_id" {
  description = "VPC the jobs run in: network-interface permissions are limited to it."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
