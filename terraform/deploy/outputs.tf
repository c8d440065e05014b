# Every key of the environment settings (docs/interfaces.md) is an output of the same name;
# the whole object is also stored as the Airflow Variable mlops_settings.

output "environment" {
  description = "Environment setting environment (docs/interfaces.md)."
  value       = module.platform.settings.environment
}

output "region" {
  description = "Environment setting region (docs/interfaces.md)."
  value       = module.platform.settings.region
}

output "name_prefix" {
  description = "Environment setting name_prefix (docs/interfaces.md)."
  value       = module.platform.settings.name_prefix
}

output "data_bucket" {
  description = "Environment setting data_bucket (docs/interfaces.md)."
  value       = module.platform.settings.data_bucket
}

output "model_bucket" {
  description = "Environment setting model_bucket (docs/interfaces.md)."
  value       = module.platform.settings.model_bucket
}

output "kms_key_arn" {
  description = "Environment setting kms_key_arn (docs/interfaces.md)."
  value       = module.platform.settings.kms_key_arn
}

output "sagemaker_execution_role_arn" {
  description = "Environment setting sagemaker_execution_role_arn (docs/interfaces.md)."
  value       = module.platform.settings.sagemaker_execution_role_arn
}

output "subnet_ids" {
  description = "Environment setting subnet_ids (docs/interfaces.md)."
  value       = module.platform.settings.subnet_ids
}

output "security_group_ids" {
  description = "Environment setting security_group_ids (docs/interfaces.md)."
  value       = module.platform.settings.security_group_ids
}

output "winners_table" {
  description = "Environment setting winners_table (docs/interfaces.md)."
  value       = module.platform.settings.winners_table
}

output "winners_history_table" {
  description = "Environment setting winners_history_table (docs/interfaces.md)."
  value       = module.platform.settings.winners_history_table
}

output "sns_topic_arn" {
  description = "Environment setting sns_topic_arn (docs/interfaces.md)."
  value       = module.platform.settings.sns_topic_arn
}

output "slack_connection_id" {
  description = "Environment setting slack_connection_id (docs/interfaces.md)."
  value       = module.platform.settings.slack_connection_id
}

output "processing_image_uri" {
  description = "Environment setting processing_image_uri (docs/interfaces.md)."
  value       = module.platform.settings.processing_image_uri
}

output "training_image_uri" {
  description = "Environment setting training_image_uri (docs/interfaces.md)."
  value       = module.platform.settings.training_image_uri
}

output "training_neuron_image_uri" {
  description = "Environment setting training_neuron_image_uri (docs/interfaces.md)."
  value       = module.platform.settings.training_neuron_image_uri
}

output "inference_image_uri" {
  description = "Environment setting inference_image_uri (docs/interfaces.md)."
  value       = module.platform.settings.inference_image_uri
}

output "poll_interval_seconds" {
  description = "Environment setting poll_interval_seconds (docs/interfaces.md)."
  value       = module.platform.settings.poll_interval_seconds
}

output "airflow_base_url" {
  description = "Environment setting airflow_base_url (docs/interfaces.md)."
  value       = module.platform.settings.airflow_base_url
}

output "enable_network_isolation" {
  description = "Environment setting enable_network_isolation (docs/interfaces.md)."
  value       = module.platform.settings.enable_network_isolation
}

output "code_version" {
  description = "Environment setting code_version (docs/interfaces.md)."
  value       = module.platform.settings.code_version
}

output "mlops_settings" {
  description = "The whole settings object, as stored in the secret airflow/variables/mlops_settings."
  value       = module.platform.settings
}

output "settings_secret_arn" {
  description = "ARN of the secret airflow/variables/mlops_settings."
  value       = module.platform.settings_secret_arn
}

output "slack_connection_secret_arn" {
  description = "ARN of the Slack webhook connection secret (set its value out of band)."
  value       = module.platform.slack_connection_secret_arn
}

output "mwaa_environment_name" {
  description = "Name of the MWAA environment."
  value       = module.platform.mwaa_environment_name
}

output "mwaa_source_bucket" {
  description = "MWAA source bucket: sync dags/ here."
  value       = module.platform.mwaa_source_bucket
}

output "ecr_repository_urls" {
  description = "ECR repository URLs keyed by repository name."
  value       = module.platform.ecr_repository_urls
}

output "trigger_lambda_name" {
  description = "Name of the trigger Lambda."
  value       = module.platform.trigger_lambda_name
}

output "gitlab_deploy_role_arn" {
  description = "Role GitLab CI assumes with its ID token."
  value       = module.platform.gitlab_deploy_role_arn
}

output "landing_queue_url_prefix" {
  description = "Airflow's [mlops] landing_queue_url_prefix (set in MWAA's configuration options)."
  value       = module.platform.landing_queue_url_prefix
}

output "landing_queue_arns" {
  description = "ARNs of the landing queues keyed by queue suffix (labeled-de, ...)."
  value       = module.platform.landing_queue_arns
}

output "landing_queue_urls" {
  description = "URLs of the landing queues keyed by queue suffix."
  value       = module.platform.landing_queue_urls
}

output "landing_dead_letter_queue_urls" {
  description = "URLs of the landing queues' dead-letter queues keyed by queue suffix (inspect, then redrive)."
  value       = module.platform.landing_dead_letter_queue_urls
}
