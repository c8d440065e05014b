variable "name" {
  description = "Start of every queue name: <name>-landing-<kind>-<model key> (the platform passes <name_prefix>-<environment>, e.g. mlops-dev)."
  type        = string

  validation {
    condition     = length(var.name) <= 23 && can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.name))
    error_message = "name must be at most 23 lowercase letters and digits, single hyphens between them (queue names are limited to 80 characters)."
  }
}

variable "models" {
  description = "Per model key and data kind (labeled, unlabeled): the queue name suffix and the S3 filter, as scripts/terraform_models.py writes them to terraform/deploy/landing_models.json."
  type = map(map(object({
    queue_suffix  = string
    filter_prefix = string
    filter_suffix = string
  })))

  validation {
    condition = alltrue(flatten([
      for model, kinds in var.models : [
        for kind, spec in kinds : contains(["labeled", "unlabeled"], kind) && spec.queue_suffix == "${kind}-${model}" && endswith(spec.filter_suffix, "/${kind}/_SUCCESS")
      ]
    ]))
    error_message = "models: each kind must be labeled or unlabeled, its queue_suffix <kind>-<model key> and its filter_suffix /<kind>/_SUCCESS (regenerate the file with scripts/terraform_models.py)."
  }
}

variable "data_bucket_name" {
  description = "Name of the data bucket whose markers start the DAGs (its one notification configuration is made here)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket: the only source S3 may send the queues messages for."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.data_bucket_arn))
    error_message = "data_bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project key that encrypts every queue (its policy must let s3.amazonaws.com generate data keys for the data bucket)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before calling KMS again (fewer KMS calls, a bounded reuse window)."
  type        = number
  default     = 3600

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be between 60 and 86400."
  }
}

variable "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify."
  type        = string
}

variable "message_retention_seconds" {
  description = "How long a landing event waits for the watcher (over a maintenance window or an outage of MWAA)."
  type        = number
  default     = 604800

  validation {
    condition     = var.message_retention_seconds >= 3600 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 3600 and 1209600 (14 days)."
  }
}

variable "dead_letter_retention_seconds" {
  description = "How long a dead-lettered event is kept for inspection and redrive (longer than message_retention_seconds: a message keeps its first enqueue time)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dead_letter_retention_seconds >= 3600 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds must be between 3600 and 1209600 (14 days)."
  }
}

variable "visibility_timeout_seconds" {
  description = "How long a received event stays hidden before it is delivered again (the watcher deletes it on receipt)."
  type        = number
  default     = 60

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 0 and 43200."
  }
}

variable "max_receive_count" {
  description = "Receives of an event without its deletion before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "max_message_age_seconds" {
  description = "Age of the oldest waiting event above which its queue's alarm fires (the watcher polls every few seconds)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_message_age_seconds >= 60
    error_message = "max_message_age_seconds must be at least 60."
  }
}

variable "tags" {
  description = "Tags for the queues and alarms."
  type        = map(string)
  default     = {}
}
