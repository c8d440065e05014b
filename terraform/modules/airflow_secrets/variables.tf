variable "settings" {
  description = "Environment settings object (docs/interfaces.md, Environment settings) stored as JSON in the Variable secret."
  type        = any
}

variable "settings_variable_name" {
  description = "Name of the Airflow Variable that carries the settings."
  type        = string
  default     = "mlops_settings"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.settings_variable_name))
    error_message = "settings_variable_name must be letters, digits, _, . or -."
  }
}

variable "connection_ids" {
  description = "Airflow connection IDs whose secrets are created empty (values put out of band)."
  type        = list(string)
  default     = ["slack_webhook"]

  validation {
    condition     = alltrue([for id in var.connection_ids : can(regex("^[A-Za-z0-9_.-]+$", id))])
    error_message = "connection_ids must be letters, digits, _, . or -."
  }
}

variable "variables_prefix" {
  description = "Secrets Manager prefix of Airflow Variables (secrets.backend_kwargs variables_prefix)."
  type        = string
  default     = "airflow/variables"

  validation {
    condition     = can(regex("^[A-Za-z0-9_/-]+[^/]$", var.variables_prefix))
    error_message = "variables_prefix must be a path without a trailing slash."
  }
}

variable "connections_prefix" {
  description = "Secrets Manager prefix of Airflow connections (secrets.backend_kwargs connections_prefix)."
  type        = string
  default     = "airflow/connections"

  validation {
    condition     = can(regex("^[A-Za-z0-9_/-]+[^/]$", var.connections_prefix))
    error_message = "connections_prefix must be a path without a trailing slash."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the secrets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once)."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for the secrets."
  type        = map(string)
  default     = {}
}
