variable "name" {
  description = "Function name."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, _ or - (the role adds a suffix)."
  }
}

variable "source_dir" {
  description = "Folder of the Lambda source (include/trigger_lambda, with handler.py defining handler)."
  type        = string
}

variable "dependencies_dir" {
  description = "Folder holding python/ with the packages of include/trigger_lambda/requirements.txt (pip install --target <dir>/python), shipped as a layer; null: rely on the runtime's boto3."
  type        = string
  default     = null
}

variable "build_dir" {
  description = "Folder the zip archive is written to."
  type        = string
}

variable "mwaa_environment_name" {
  description = "MWAA environment whose DAGs the Lambda triggers (MWAA_ENVIRONMENT_NAME)."
  type        = string
}

variable "airflow_role" {
  description = "Airflow role the Lambda acts as through InvokeRestApi: User (trigger runs) or Op."
  type        = string
  default     = "User"

  validation {
    condition     = contains(["User", "Op"], var.airflow_role)
    error_message = "airflow_role must be User or Op: Viewer cannot trigger runs and Admin is more than a trigger needs."
  }
}

variable "allowed_dag_patterns" {
  description = "Regular expressions a DAG id must fully match to be triggered (ALLOWED_DAG_PATTERNS, joined with commas)."
  type        = list(string)
  default     = ["^(train|evaluate|deploy|batch_inference)__[a-z]{2}(__[a-z][a-z0-9]+)?$"]

  validation {
    condition     = length(var.allowed_dag_patterns) > 0 && alltrue([for p in var.allowed_dag_patterns : !strcontains(p, ",") && startswith(p, "^") && endswith(p, "$")])
    error_message = "allowed_dag_patterns must be anchored (^...$) and contain no comma (the Lambda splits the list on commas)."
  }
}

variable "max_conf_bytes" {
  description = "Largest accepted DAG-run conf, in bytes of JSON (MAX_CONF_BYTES)."
  type        = number
  default     = 65536

  validation {
    condition     = var.max_conf_bytes >= 2 && var.max_conf_bytes <= 1048576
    error_message = "max_conf_bytes must be between 2 and 1048576."
  }
}

variable "airflow_ui_base_url" {
  description = "https:// URL of the Airflow UI, for links in the Lambda's answers (AIRFLOW_UI_BASE_URL)."
  type        = string

  validation {
    condition     = startswith(var.airflow_ui_base_url, "https://")
    error_message = "airflow_ui_base_url must start with https://."
  }
}

variable "timeout_seconds" {
  description = "Function timeout; InvokeRestApi itself gives up after 10 s."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout_seconds >= 11 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 11 (above InvokeRestApi's 10 s) and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: a ceiling on how many runs CI can start at once."
  type        = number
  default     = 5

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1."
  }
}

variable "vpc_id" {
  description = "VPC the function runs in."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC (HTTPS egress to the interface endpoints)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr_block))
    error_message = "vpc_cidr_block must be an IPv4 CIDR block."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the function."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1
    error_message = "subnet_ids must list at least one private subnet."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project KMS key (environment variables, log group)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, ..., 365, 400, 545, 731, ...)."
  }
}

variable "tags" {
  description = "Tags for the function, its role, log group and security group."
  type        = map(string)
  default     = {}
}
