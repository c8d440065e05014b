# What is made per model (landing queues, data capture expiry, the SageMaker role's output
# prefixes, the canaries' rollback alarms): generated from include/config/countries.yaml by
# scripts/terraform_models.py (tests/terraform fails when it is out of date).
locals {
  models_file           = jsondecode(file("${path.root}/landing_models.json"))
  landing_models        = local.models_file.models
  data_capture_prefixes = local.models_file.data_capture_prefixes
  sagemaker_outputs     = local.models_file.sagemaker_outputs
  endpoint_alarms       = local.models_file.endpoint_alarms
}

module "platform" {
  source = "../modules/platform"

  environment = var.environment
  name_prefix = var.name_prefix
  image_tag   = var.image_tag

  code_version = var.code_version

  mwaa_environment_class           = var.mwaa_environment_class
  mwaa_min_workers                 = var.mwaa_min_workers
  mwaa_max_workers                 = var.mwaa_max_workers
  mwaa_bundle_dir                  = var.mwaa_bundle_dir == null ? null : abspath("${path.root}/${var.mwaa_bundle_dir}")
  requirements_s3_object_version   = var.requirements_s3_object_version
  plugins_s3_object_version        = var.plugins_s3_object_version
  startup_script_s3_object_version = var.startup_script_s3_object_version

  create_vpc              = var.create_vpc
  vpc_cidr_block          = var.vpc_cidr_block
  enable_nat_gateway      = var.enable_nat_gateway
  vpc_id                  = var.vpc_id
  private_subnet_ids      = var.private_subnet_ids
  private_route_table_ids = var.private_route_table_ids

  landing_models              = local.landing_models
  data_capture_prefixes       = local.data_capture_prefixes
  data_capture_retention_days = var.data_capture_retention_days
  sagemaker_outputs           = local.sagemaker_outputs
  endpoint_alarms             = local.endpoint_alarms

  key_administrator_arns = var.key_administrator_arns

  sns_subscriptions                 = var.sns_subscriptions
  winners_table_deletion_protection = var.winners_table_deletion_protection

  trigger_lambda_source_dir       = abspath("${path.root}/../../include/trigger_lambda")
  trigger_lambda_dependencies_dir = var.trigger_lambda_dependencies_dir == null ? null : abspath("${path.root}/${var.trigger_lambda_dependencies_dir}")
  build_dir                       = abspath("${path.root}/.terraform/build")

  gitlab_url                        = var.gitlab_url
  gitlab_projects                   = var.gitlab_projects
  create_gitlab_oidc_provider       = var.create_gitlab_oidc_provider
  existing_gitlab_oidc_provider_arn = var.existing_gitlab_oidc_provider_arn

  ecr_replication_destinations       = var.ecr_replication_destinations
  ecr_replication_source_account_ids = var.ecr_replication_source_account_ids

  tags = var.tags
}
