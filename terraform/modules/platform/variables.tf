variable "environment" {
  description = "Environment name (settings key environment), e.g. dev or prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter (e.g. dev, prod)."
  }
}

variable "name_prefix" {
  description = "Project prefix (settings key name_prefix): every SageMaker resource name starts with <name_prefix>-, ECR repositories are <name_prefix>/<image>. Give environments that share an account different prefixes."
  type        = string
  default     = "mlops"

  validation {
    condition     = can(regex("^[a-z0-9](-?[a-z0-9]){0,11}$", var.name_prefix))
    error_message = "name_prefix must be 1-12 lowercase letters and digits, single hyphens between them (SageMaker tuning job names, which start with it, are limited to 32 characters)."
  }
}

variable "image_tag" {
  description = "Tag of the four images the environment runs (settings *_image_uri = repository URL + : + tag). Tags are immutable: a new build gets a new tag."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a Docker tag: up to 128 letters, digits, _, . or -, not starting with . or -."
  }
}

variable "poll_interval_seconds" {
  description = "How often the DAGs' sensors and operators poll SageMaker (settings key poll_interval_seconds)."
  type        = number
  default     = 60

  validation {
    condition     = var.poll_interval_seconds >= 5 && var.poll_interval_seconds <= 600 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "poll_interval_seconds must be a whole number between 5 and 600."
  }
}

variable "code_version" {
  description = "Git revision of the deployed DAG package (settings key code_version), tagged on every SageMaker resource the DAGs create; CI sets it from the commit."
  type        = string
  default     = "unknown"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,64}$", var.code_version))
    error_message = "code_version must be 1-64 letters, digits, '.', '_' or '-'."
  }
}

variable "enable_network_isolation" {
  description = "Run training and inference containers without network access (settings key enable_network_isolation)."
  type        = bool
  default     = true
}

variable "slack_connection_id" {
  description = "Airflow connection ID of the Slack webhook (settings key slack_connection_id); its secret is airflow/connections/<id>."
  type        = string
  default     = "slack_webhook"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+$", var.slack_connection_id))
    error_message = "slack_connection_id must be letters, digits, _, . or -."
  }
}

variable "airflow_version" {
  description = "MWAA Airflow version; must equal the apache-airflow pin of requirements-dev.txt (checked by tests/terraform)."
  type        = string
  default     = "3.3.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.airflow_version))
    error_message = "airflow_version must be a version such as 3.3.1."
  }
}

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.mwaa_environment_class)
    error_message = "mwaa_environment_class must be one of mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge."
  }
}

variable "mwaa_min_workers" {
  description = "Minimum number of MWAA workers."
  type        = number
  default     = 1

  validation {
    condition     = var.mwaa_min_workers >= 1
    error_message = "mwaa_min_workers must be at least 1."
  }
}

variable "mwaa_max_workers" {
  description = "Maximum number of MWAA workers."
  type        = number
  default     = 5

  validation {
    condition     = var.mwaa_max_workers >= 1 && var.mwaa_max_workers <= 25
    error_message = "mwaa_max_workers must be between 1 and 25."
  }
}

variable "mwaa_schedulers" {
  description = "Number of MWAA schedulers."
  type        = number
  default     = 2

  validation {
    condition     = var.mwaa_schedulers >= 1 && var.mwaa_schedulers <= 5
    error_message = "mwaa_schedulers must be between 1 and 5."
  }
}

variable "mwaa_webserver_access_mode" {
  description = "PRIVATE_ONLY (default) or PUBLIC_ONLY (explicit opt-out)."
  type        = string
  default     = "PRIVATE_ONLY"

  validation {
    condition     = contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.mwaa_webserver_access_mode)
    error_message = "mwaa_webserver_access_mode must be PRIVATE_ONLY or PUBLIC_ONLY."
  }
}

variable "mwaa_log_level" {
  description = "Level of every MWAA log type."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"], var.mwaa_log_level)
    error_message = "mwaa_log_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG."
  }
}

variable "mwaa_allow_internet_egress" {
  description = "Allow MWAA HTTPS egress to 0.0.0.0/0 in a VPC you bring that has its own NAT (automatic when enable_nat_gateway is true)."
  type        = bool
  default     = false
}

variable "airflow_configuration_options" {
  description = "Extra Airflow configuration options for MWAA (section.key => value)."
  type        = map(string)
  default     = {}
}

variable "mwaa_bundle_dir" {
  description = "Absolute path of `make bundle`'s output (dist/mwaa): Terraform uploads requirements.txt, plugins.zip, startup.sh and pins their versions. Null: pass the *_s3_object_version variables."
  type        = string
  default     = null
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt when mwaa_bundle_dir is null."
  type        = string
  default     = null
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip when mwaa_bundle_dir is null."
  type        = string
  default     = null
}

variable "startup_script_s3_object_version" {
  description = "S3 object version of startup.sh when mwaa_bundle_dir is null (null: none)."
  type        = string
  default     = null
}

variable "create_vpc" {
  description = "Create the VPC; false: bring your own with vpc_id, vpc_cidr_block, private_subnet_ids, private_route_table_ids."
  type        = bool
  default     = true
}

variable "vpc_cidr_block" {
  description = "CIDR block of the created VPC, or of the one you bring."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr_block))
    error_message = "vpc_cidr_block must be an IPv4 CIDR block."
  }
}

variable "availability_zone_suffixes" {
  description = "AZ letters of the created VPC's private subnets (at least two)."
  type        = list(string)
  default     = ["a", "b"]

  validation {
    condition     = length(var.availability_zone_suffixes) >= 2
    error_message = "availability_zone_suffixes must name at least two zones."
  }
}

variable "enable_nat_gateway" {
  description = "Internet egress for the private subnets through a NAT gateway (Slack notifications and PyPI need it)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "Existing VPC ID when create_vpc is false."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Existing private subnet IDs (two AZs or more) when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "private_route_table_ids" {
  description = "Route tables of the existing private subnets when create_vpc is false."
  type        = list(string)
  default     = []
}

variable "sns_subscriptions" {
  description = "Subscriptions to the notifications topic."
  type = list(object({
    protocol = string
    endpoint = string
  }))
  default = []
}

variable "winners_table_deletion_protection" {
  description = "Deletion protection of the winners and winners history tables (turn off explicitly before destroying)."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets (throw-away environments only)."
  type        = bool
  default     = false
}

variable "access_log_retention_days" {
  description = "Days S3 access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "data_capture_prefixes" {
  description = "Per model key: the model bucket prefix its endpoint's data capture writes under (terraform/deploy/landing_models.json, written by scripts/terraform_models.py)."
  type        = map(string)
  default     = {}
}

variable "data_capture_retention_days" {
  description = "Days the endpoints' captured requests and answers are kept in the model bucket."
  type        = number
  default     = 30

  validation {
    condition     = var.data_capture_retention_days >= 1
    error_message = "data_capture_retention_days must be at least 1."
  }
}

variable "trigger_lambda_source_dir" {
  description = "Absolute path of the trigger Lambda's source (include/trigger_lambda)."
  type        = string
}

variable "trigger_lambda_dependencies_dir" {
  description = "Absolute path of the pip-installed dependencies of the trigger Lambda (a folder holding python/), shipped as a layer; null: none."
  type        = string
  default     = null
}

variable "build_dir" {
  description = "Absolute path of a scratch folder for build artifacts (the Lambda zip)."
  type        = string
}

variable "trigger_airflow_role" {
  description = "Airflow role the trigger Lambda acts as: User or Op."
  type        = string
  default     = "User"

  validation {
    condition     = contains(["User", "Op"], var.trigger_airflow_role)
    error_message = "trigger_airflow_role must be User or Op."
  }
}

variable "allowed_dag_patterns" {
  description = "Regular expressions of the DAG ids the trigger Lambda may start."
  type        = list(string)
  default     = ["^(train|evaluate|deploy|batch_inference)__[a-z]{2}(__[a-z][a-z0-9]+)?$"]
}

variable "max_conf_bytes" {
  description = "Largest DAG-run conf the trigger Lambda forwards, in bytes."
  type        = number
  default     = 65536
}

variable "trigger_reserved_concurrency" {
  description = "Reserved concurrency of the trigger Lambda."
  type        = number
  default     = 5
}

variable "gitlab_url" {
  description = "URL of the GitLab instance whose CI deploys."
  type        = string
  default     = "https://gitlab.com"
}

variable "gitlab_audience" {
  description = "aud claim of the CI ID tokens."
  type        = string
  default     = "sts.amazonaws.com"
}

variable "create_gitlab_oidc_provider" {
  description = "Create the account's IAM OIDC provider for gitlab_url (false when another environment in the account made it)."
  type        = bool
  default     = true
}

variable "existing_gitlab_oidc_provider_arn" {
  description = "ARN of the existing OIDC provider when create_gitlab_oidc_provider is false."
  type        = string
  default     = null
}

variable "ecr_replication_destinations" {
  description = "Accounts and regions the registry replicates the project's images to (dev: prod's)."
  type = list(object({
    account_id = string
    region     = string
  }))
  default = []
}

variable "ecr_replication_source_account_ids" {
  description = "Accounts whose registries may replicate the project's images into this one (prod: dev's)."
  type        = list(string)
  default     = []
}

variable "gitlab_projects" {
  description = "GitLab projects with the protected branches (exact names) and protected release tags (patterns such as v*) whose pipelines may assume the deploy role."
  type = list(object({
    path     = string
    branches = list(string)
    tags     = optional(list(string), [])
  }))
}

variable "landing_models" {
  description = "Per model key and data kind: the landing queue suffix and S3 filter (terraform/deploy/landing_models.json, written by scripts/terraform_models.py from the countries file)."
  type = map(map(object({
    queue_suffix  = string
    filter_prefix = string
    filter_suffix = string
  })))
}

variable "landing_max_message_age_seconds" {
  description = "Age of a landing queue's oldest event above which its alarm notifies the topic."
  type        = number
  default     = 3600
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "sagemaker_outputs" {
  description = "Per model key: the key patterns its SageMaker jobs and endpoint write under, in the data and in the model bucket (terraform/deploy/landing_models.json, written by scripts/terraform_models.py). The SageMaker execution role may write nowhere else."
  type = map(object({
    data  = list(string)
    model = list(string)
  }))
}

variable "endpoint_alarms" {
  description = "Per alarm name: the rollback alarm a model's canary deployment watches (terraform/deploy/landing_models.json, written by scripts/terraform_models.py from the countries file's endpoint.rollback_alarms)."
  type = map(object({
    model_key          = string
    variant_name       = string
    metric             = string
    threshold          = number
    evaluation_periods = number
  }))
  default = {}
}

variable "key_administrator_arns" {
  description = "IAM principals that administer the project KMS key (at least one)."
  type        = list(string)

  validation {
    condition     = length(var.key_administrator_arns) > 0
    error_message = "key_administrator_arns must name at least one IAM principal."
  }
}
