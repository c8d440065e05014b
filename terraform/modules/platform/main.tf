# One environment of the MLOps platform: wires the modules together and builds the settings object
# the DAG package reads (docs/interfaces.md, "Environment settings"), which is written to Secrets
# Manager as the Airflow Variable mlops_settings and exposed key by key as outputs of the env roots.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region
  env_name   = "${var.name_prefix}-${var.environment}"
  tags       = merge(var.tags, { Project = var.name_prefix, Environment = var.environment })

  # Known before the bucket exists: the key's policy names it (the bucket is encrypted with the key).
  data_bucket_name = "${local.env_name}-data-${local.account_id}"
  data_bucket_arn  = "arn:${data.aws_partition.current.partition}:s3:::${local.data_bucket_name}"

  # Where MWAA's Secrets Manager backend looks up Variables and connections.
  variables_prefix   = "airflow/variables"
  connections_prefix = "airflow/connections"

  # ECR repository per image; the local backend maps image URIs by the last path segment.
  images = {
    processing      = "${var.name_prefix}/processing"
    training        = "${var.name_prefix}/training"
    training_neuron = "${var.name_prefix}/training-neuron"
    inference       = "${var.name_prefix}/inference"
  }
  image_uris = { for image, repo in local.images : image => "${module.ecr.repository_urls[repo]}:${var.image_tag}" }
  # Layer caches of the CI image builds (kaniko --cache-repo <repository>-cache): pushed by CI only.
  build_cache_repositories = [for repo in values(local.images) : "${repo}-cache"]

  settings = {
    environment                  = var.environment
    region                       = local.region
    name_prefix                  = var.name_prefix
    data_bucket                  = module.data_bucket.name
    model_bucket                 = module.model_bucket.name
    kms_key_arn                  = module.kms.key_arn
    sagemaker_execution_role_arn = module.sagemaker_execution_role.role_arn
    subnet_ids                   = module.network.private_subnet_ids
    security_group_ids           = [module.network.sagemaker_security_group_id]
    winners_table                = module.winners_table.name
    winners_history_table        = module.winners_table.history_name
    sns_topic_arn                = module.notifications.topic_arn
    slack_connection_id          = var.slack_connection_id
    processing_image_uri         = local.image_uris.processing
    training_image_uri           = local.image_uris.training
    training_neuron_image_uri    = local.image_uris.training_neuron
    inference_image_uri          = local.image_uris.inference
    poll_interval_seconds        = var.poll_interval_seconds
    airflow_base_url             = module.mwaa.airflow_base_url
    enable_network_isolation     = var.enable_network_isolation
    code_version                 = var.code_version
  }
}

module "kms" {
  source = "../kms"

  alias                    = local.env_name
  key_administrator_arns   = var.key_administrator_arns
  event_source_bucket_arns = [local.data_bucket_arn]
  tags                     = local.tags
}

module "access_log_bucket" {
  source = "../s3_bucket"

  name                 = "${local.env_name}-access-logs-${local.account_id}"
  kms_key_arn          = module.kms.key_arn
  is_access_log_target = true
  expiration_days      = var.access_log_retention_days
  force_destroy        = var.force_destroy_buckets
  tags                 = local.tags
}

module "data_bucket" {
  source = "../s3_bucket"

  name                           = local.data_bucket_name
  kms_key_arn                    = module.kms.key_arn
  access_log_bucket              = module.access_log_bucket.name
  intelligent_tiering_after_days = 30
  force_destroy                  = var.force_destroy_buckets
  tags                           = local.tags
}

module "model_bucket" {
  source = "../s3_bucket"

  name                           = "${local.env_name}-models-${local.account_id}"
  kms_key_arn                    = module.kms.key_arn
  access_log_bucket              = module.access_log_bucket.name
  intelligent_tiering_after_days = 30
  prefix_expirations             = { for key, prefix in var.data_capture_prefixes : prefix => var.data_capture_retention_days }
  force_destroy                  = var.force_destroy_buckets
  tags                           = local.tags
}

# MWAA requires its source bucket's name to start with "airflow-".
module "mwaa_source_bucket" {
  source = "../s3_bucket"

  name              = "airflow-${local.env_name}-${local.account_id}"
  kms_key_arn       = module.kms.key_arn
  access_log_bucket = module.access_log_bucket.name
  force_destroy     = var.force_destroy_buckets
  tags              = local.tags
}

module "network" {
  source = "../network"

  name                       = local.env_name
  create_vpc                 = var.create_vpc
  vpc_cidr_block             = var.vpc_cidr_block
  availability_zone_suffixes = var.availability_zone_suffixes
  enable_nat_gateway         = var.enable_nat_gateway
  vpc_id                     = var.vpc_id
  private_subnet_ids         = var.private_subnet_ids
  private_route_table_ids    = var.private_route_table_ids
  s3_bucket_arns             = [module.data_bucket.arn, module.model_bucket.arn, module.mwaa_source_bucket.arn]
  kms_key_arn                = module.kms.key_arn
  tags                       = local.tags
}

module "ecr" {
  source = "../ecr"

  repository_names               = values(local.images)
  cache_repository_names         = local.build_cache_repositories
  replication_prefix             = "${var.name_prefix}/"
  replication_destinations       = var.ecr_replication_destinations
  replication_source_account_ids = var.ecr_replication_source_account_ids
  kms_key_arn                    = module.kms.key_arn
  tags                           = local.tags
}

module "sagemaker_execution_role" {
  source = "../sagemaker_execution_role"

  name                = "${local.env_name}-sagemaker-execution"
  name_prefix         = var.name_prefix
  bucket_arns         = [module.data_bucket.arn, module.model_bucket.arn]
  data_bucket_arn     = module.data_bucket.arn
  model_bucket_arn    = module.model_bucket.arn
  data_output_keys    = distinct(flatten([for outputs in values(var.sagemaker_outputs) : outputs.data]))
  model_output_keys   = distinct(flatten([for outputs in values(var.sagemaker_outputs) : outputs.model]))
  ecr_repository_arns = [for repo in values(local.images) : module.ecr.repository_arns[repo]]
  kms_key_arn         = module.kms.key_arn
  vpc_id              = module.network.vpc_id
  tags                = local.tags
}

module "winners_table" {
  source = "../winners_table"

  name                = "${local.env_name}-winners"
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.winners_table_deletion_protection
  tags                = local.tags
}

module "notifications" {
  source = "../notifications"

  name          = "${local.env_name}-notifications"
  kms_key_arn   = module.kms.key_arn
  subscriptions = var.sns_subscriptions
  tags          = local.tags
}

module "landing_events" {
  source = "../landing_events"

  name                    = local.env_name
  models                  = var.landing_models
  data_bucket_name        = module.data_bucket.name
  data_bucket_arn         = module.data_bucket.arn
  kms_key_arn             = module.kms.key_arn
  alarm_topic_arn         = module.notifications.topic_arn
  max_message_age_seconds = var.landing_max_message_age_seconds
  tags                    = local.tags
}

module "endpoint_alarms" {
  source = "../endpoint_alarms"

  name_prefix     = var.name_prefix
  alarms          = var.endpoint_alarms
  alarm_topic_arn = module.notifications.topic_arn
  tags            = local.tags
}

module "mwaa" {
  source = "../mwaa"

  name                             = local.env_name
  name_prefix                      = var.name_prefix
  airflow_version                  = var.airflow_version
  environment_class                = var.mwaa_environment_class
  min_workers                      = var.mwaa_min_workers
  max_workers                      = var.mwaa_max_workers
  schedulers                       = var.mwaa_schedulers
  webserver_access_mode            = var.mwaa_webserver_access_mode
  log_level                        = var.mwaa_log_level
  airflow_configuration_options    = var.airflow_configuration_options
  variables_prefix                 = local.variables_prefix
  connections_prefix               = local.connections_prefix
  source_bucket_name               = module.mwaa_source_bucket.name
  source_bucket_arn                = module.mwaa_source_bucket.arn
  bundle_dir                       = var.mwaa_bundle_dir
  requirements_s3_object_version   = var.requirements_s3_object_version
  plugins_s3_object_version        = var.plugins_s3_object_version
  startup_script_s3_object_version = var.startup_script_s3_object_version
  kms_key_arn                      = module.kms.key_arn
  vpc_id                           = module.network.vpc_id
  vpc_cidr_block                   = module.network.vpc_cidr_block
  subnet_ids                       = module.network.private_subnet_ids
  gateway_prefix_list_ids          = module.network.gateway_prefix_list_ids
  allow_internet_egress            = module.network.has_internet_egress || var.mwaa_allow_internet_egress
  project_bucket_arns              = [module.data_bucket.arn, module.model_bucket.arn]
  sagemaker_execution_role_arn     = module.sagemaker_execution_role.role_arn
  winners_table_arn                = module.winners_table.arn
  winners_history_table_arn        = module.winners_table.history_arn
  sns_topic_arn                    = module.notifications.topic_arn
  landing_queue_arns               = values(module.landing_events.queue_arns)
  landing_queue_url_prefix         = module.landing_events.queue_url_prefix
  tags                             = local.tags
}

module "airflow_secrets" {
  source = "../airflow_secrets"

  settings               = local.settings
  settings_variable_name = "mlops_settings"
  connection_ids         = [var.slack_connection_id]
  variables_prefix       = local.variables_prefix
  connections_prefix     = local.connections_prefix
  kms_key_arn            = module.kms.key_arn
  tags                   = local.tags
}

module "trigger_lambda" {
  source = "../trigger_lambda"

  name                  = "${local.env_name}-trigger-dag"
  source_dir            = var.trigger_lambda_source_dir
  dependencies_dir      = var.trigger_lambda_dependencies_dir
  build_dir             = var.build_dir
  mwaa_environment_name = module.mwaa.environment_name
  airflow_role          = var.trigger_airflow_role
  allowed_dag_patterns  = var.allowed_dag_patterns
  max_conf_bytes        = var.max_conf_bytes
  airflow_ui_base_url   = module.mwaa.airflow_base_url
  reserved_concurrency  = var.trigger_reserved_concurrency
  vpc_id                = module.network.vpc_id
  vpc_cidr_block        = module.network.vpc_cidr_block
  subnet_ids            = module.network.private_subnet_ids
  kms_key_arn           = module.kms.key_arn
  tags                  = local.tags
}

module "gitlab_oidc" {
  source = "../gitlab_oidc"

  gitlab_url                 = var.gitlab_url
  audience                   = var.gitlab_audience
  create_oidc_provider       = var.create_gitlab_oidc_provider
  existing_oidc_provider_arn = var.existing_gitlab_oidc_provider_arn
  projects                   = var.gitlab_projects
  role_name                  = "${local.env_name}-gitlab-deploy"
  region                     = local.region
  trigger_lambda_arn         = module.trigger_lambda.function_arn
  mwaa_environment_name      = module.mwaa.environment_name
  ecr_repository_arns        = values(module.ecr.repository_arns)
  mwaa_source_bucket_arn     = module.mwaa_source_bucket.arn
  kms_key_arn                = module.kms.key_arn
  tags                       = local.tags
}
