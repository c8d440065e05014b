variable "name_prefix" {
  description = "Project prefix (settings key name_prefix): a model's endpoint is <name_prefix>-<model key>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){0,11}$", var.name_prefix))
    error_message = "name_prefix must be 1-12 lowercase letters and digits, single hyphens between them (SageMaker tuning job names, which start with it, are limited to 32 characters)."
  }
}

variable "alarms" {
  description = "Per alarm name (the countries file's endpoint.rollback_alarms, as scripts/terraform_models.py writes them): the model key, the endpoint variant, the metric (errors or latency), the threshold in the metric's unit (failed invocations per minute; microseconds) and the evaluation periods of a minute."
  type = map(object({
    model_key          = string
    variant_name       = string
    metric             = string
    threshold          = number
    evaluation_periods = number
  }))
  default = {}

  validation {
    condition     = alltrue([for name, alarm in var.alarms : contains(["errors", "latency"], alarm.metric) && alarm.threshold > 0 && alarm.evaluation_periods >= 1 && length(name) <= 255])
    error_message = "each alarm needs metric errors or latency, a positive threshold, at least one evaluation period and a name of at most 255 characters."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic told when an alarm goes into ALARM and back to OK (the notifications topic)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "tags" {
  description = "Tags for the alarms."
  type        = map(string)
  default     = {}
}
