variable "name" {
  description = "Name of the MWAA environment (also the <env> in arn:aws:airflow:<region>:<account>:role/<env>/<Role>)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][0-9a-zA-Z_-]{0,79}$", var.name))
    error_message = "name must start with a letter and be at most 80 letters, digits, _ or -."
  }
}

variable "name_prefix" {
  description = "Project name prefix: the execution role may touch only SageMaker resources named <name_prefix>-*."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){0,11}$", var.name_prefix))
    error_message = "name_prefix must be 1-12 lowercase letters and digits, single hyphens between them (SageMaker tuning job names, which start with it, are limited to 32 characters)."
  }
}

variable "airflow_version" {
  description = "Apache Airflow version of the environment; must equal the apache-airflow pin of requirements-dev.txt."
  type        = string
  default     = "3.3.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.airflow_version))
    error_message = "airflow_version must be a version such as 3.3.1."
  }
}

variable "environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.environment_class)
    error_message = "environment_class must be one of mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge."
  }
}

variable "min_workers" {
  description = "Minimum number of Celery workers."
  type        = number
  default     = 1

  validation {
    condition     = var.min_workers >= 1
    error_message = "min_workers must be at least 1."
  }
}

variable "max_workers" {
  description = "Maximum number of Celery workers (autoscaling ceiling)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_workers >= 1 && var.max_workers <= 25
    error_message = "max_workers must be between 1 and 25."
  }
}

variable "schedulers" {
  description = "Number of schedulers (2-5 on mw1.small and larger, 1 on mw1.micro)."
  type        = number
  default     = 2

  validation {
    condition     = var.schedulers >= 1 && var.schedulers <= 5
    error_message = "schedulers must be between 1 and 5."
  }
}

variable "webserver_access_mode" {
  description = "PRIVATE_ONLY (reachable only from the VPC) or PUBLIC_ONLY. Public is an explicit opt-out."
  type        = string
  default     = "PRIVATE_ONLY"

  validation {
    condition     = contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.webserver_access_mode)
    error_message = "webserver_access_mode must be PRIVATE_ONLY or PUBLIC_ONLY."
  }
}

variable "log_level" {
  description = "Level of every MWAA log type (all are enabled)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"], var.log_level)
    error_message = "log_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG."
  }
}

variable "weekly_maintenance_window_start" {
  description = "Start of the weekly maintenance window, DAY:HH:MM in UTC."
  type        = string
  default     = "SUN:03:00"

  validation {
    condition     = can(regex("^(MON|TUE|WED|THU|FRI|SAT|SUN):([01][0-9]|2[0-3]):(00|30)$", var.weekly_maintenance_window_start))
    error_message = "weekly_maintenance_window_start must look like SUN:03:00 (minutes 00 or 30)."
  }
}

variable "airflow_configuration_options" {
  description = "Further Airflow configuration options (section.key => value); they override the module's defaults."
  type        = map(string)
  default     = {}
}

variable "variables_prefix" {
  description = "Secrets Manager prefix the backend reads Airflow Variables from."
  type        = string
  default     = "airflow/variables"

  validation {
    condition     = can(regex("^[A-Za-z0-9_/-]+[^/]$", var.variables_prefix))
    error_message = "variables_prefix must be a path without a trailing slash."
  }
}

variable "connections_prefix" {
  description = "Secrets Manager prefix the backend reads Airflow connections from."
  type        = string
  default     = "airflow/connections"

  validation {
    condition     = can(regex("^[A-Za-z0-9_/-]+[^/]$", var.connections_prefix))
    error_message = "connections_prefix must be a path without a trailing slash."
  }
}

variable "source_bucket_name" {
  description = "Name of the MWAA source bucket (versioned, public access blocked)."
  type        = string
}

variable "source_bucket_arn" {
  description = "ARN of the MWAA source bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.source_bucket_arn))
    error_message = "source_bucket_arn must be a bucket ARN (arn:aws:s3:::<bucket>)."
  }
}

variable "dag_s3_path" {
  description = "Folder of the DAG files in the source bucket."
  type        = string
  default     = "dags/"
}

variable "requirements_s3_path" {
  description = "Key of requirements.txt in the source bucket (and its path under bundle_dir)."
  type        = string
  default     = "requirements.txt"
}

variable "plugins_s3_path" {
  description = "Key of plugins.zip in the source bucket (and its path under bundle_dir)."
  type        = string
  default     = "plugins.zip"
}

variable "startup_script_s3_path" {
  description = "Key of startup.sh in the source bucket (and its path under bundle_dir)."
  type        = string
  default     = "startup.sh"
}

variable "bundle_dir" {
  description = "Folder `make bundle` wrote (dist/mwaa). When set, Terraform uploads requirements.txt, plugins.zip and startup.sh (if present) and pins their new object versions. Null: pass the *_s3_object_version variables instead."
  type        = string
  default     = null
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt when bundle_dir is null."
  type        = string
  default     = null
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip when bundle_dir is null."
  type        = string
  default     = null
}

variable "startup_script_s3_object_version" {
  description = "S3 object version of startup.sh when bundle_dir is null (null: no startup script)."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "ARN of the project KMS key (environment data, bundle objects)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "vpc_id" {
  description = "VPC of the environment."
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
  description = "Private subnets in two different AZs (MWAA uses the first two)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two private subnets in different AZs."
  }
}

variable "gateway_prefix_list_ids" {
  description = "Prefix lists of the S3 and DynamoDB gateway endpoints, keyed by service, for HTTPS egress."
  type        = map(string)
  default     = {}
}

variable "allow_internet_egress" {
  description = "Allow HTTPS egress to 0.0.0.0/0 (only useful when the subnets route through a NAT gateway)."
  type        = bool
  default     = false
}

variable "webserver_client_security_group_ids" {
  description = "Security groups allowed to reach the private webserver on 443 (a VPN or bastion), keyed by a static label."
  type        = map(string)
  default     = {}
}

variable "project_bucket_arns" {
  description = "ARNs of the data and model buckets the DAG tasks read and write."
  type        = list(string)

  validation {
    condition     = length(var.project_bucket_arns) > 0
    error_message = "project_bucket_arns must name at least one bucket."
  }
}

variable "sagemaker_execution_role_arn" {
  description = "The only role the environment may pass, and only to SageMaker."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.sagemaker_execution_role_arn))
    error_message = "sagemaker_execution_role_arn must be an IAM role ARN."
  }
}

variable "winners_table_arn" {
  description = "ARN of the DynamoDB winners table (the CURRENT items)."
  type        = string
}

variable "winners_history_table_arn" {
  description = "ARN of the DynamoDB winners history table (append-only: the role may put, get and query only)."
  type        = string
}

variable "sns_topic_arn" {
  description = "ARN of the notifications topic."
  type        = string
}

variable "landing_queue_arns" {
  description = "ARNs of the landing queues the environment's asset watchers consume (modules/landing_events); the execution role may receive and delete on these only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.landing_queue_arns : can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", arn))])
    error_message = "landing_queue_arns must be SQS queue ARNs."
  }
}

variable "landing_queue_url_prefix" {
  description = "Airflow option [mlops] landing_queue_url_prefix: a landing queue's URL without its <kind>-<model key> (null: no watchers, the DAGs keep their cron fallback)."
  type        = string
  default     = null

  validation {
    condition     = var.landing_queue_url_prefix == null || can(regex("^https://sqs\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[0-9]{12}/[A-Za-z0-9_-]+-$", var.landing_queue_url_prefix))
    error_message = "landing_queue_url_prefix must look like https://sqs.<region>.amazonaws.com/<account>/<name>-landing-."
  }
}

variable "tags" {
  description = "Tags for the environment and its role and security group."
  type        = map(string)
  default     = {}
}
