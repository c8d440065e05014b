variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for default SSE-KMS encryption (with an S3 bucket key)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "access_log_bucket" {
  description = "Name of the bucket that receives this bucket's server access logs. Null only for the access-log bucket itself."
  type        = string
  default     = null
}

variable "is_access_log_target" {
  description = "Whether this bucket receives S3 server access logs (adds the log-delivery statement to its policy)."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which non-current object versions are deleted."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1
    error_message = "abort_incomplete_multipart_upload_days must be at least 1."
  }
}

variable "intelligent_tiering_after_days" {
  description = "Days after which current objects move to INTELLIGENT_TIERING; null keeps them in STANDARD."
  type        = number
  default     = null

  validation {
    condition     = var.intelligent_tiering_after_days == null || try(var.intelligent_tiering_after_days >= 0, false)
    error_message = "intelligent_tiering_after_days must be null or a non-negative number."
  }
}

variable "expiration_days" {
  description = "Days after which current objects expire; null keeps them (use for log buckets only)."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be null or at least 1."
  }
}

variable "prefix_expirations" {
  description = "Key prefix => days after which current objects under it expire (their non-current versions a day later), on top of the bucket-wide housekeeping: for data kept only a while, such as endpoint data capture."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for prefix, days in var.prefix_expirations : days >= 1 && length(prefix) > 0 && endswith(prefix, "/")])
    error_message = "prefix_expirations maps non-empty prefixes ending in '/' to at least 1 day."
  }
}

variable "extra_policy_documents" {
  description = "Further bucket-policy JSON documents merged into the bucket policy (for example cross-service grants)."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket. Keep false outside throw-away environments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
