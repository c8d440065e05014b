output "settings" {
  description = "The environment settings object the DAG package reads (also stored as the Airflow Variable mlops_settings)."
  value       = local.settings
}

output "settings_secret_arn" {
  description = "ARN of the secret airflow/variables/mlops_settings."
  value       = module.airflow_secrets.settings_secret_arn
}

output "slack_connection_secret_arn" {
  description = "ARN of the Slack webhook connection secret (value set out of band)."
  value       = module.airflow_secrets.connection_secret_arns[var.slack_connection_id]
}

output "mwaa_environment_name" {
  description = "Name of the MWAA environment."
  value       = module.mwaa.environment_name
}

output "mwaa_source_bucket" {
  description = "MWAA source bucket (dags/, plugins.zip, requirements.txt, startup.sh)."
  value       = module.mwaa_source_bucket.name
}

output "mwaa_execution_role_arn" {
  description = "ARN of the MWAA execution role."
  value       = module.mwaa.execution_role_arn
}

output "ecr_repository_urls" {
  description = "ECR repository URLs keyed by repository name."
  value       = module.ecr.repository_urls
}

output "trigger_lambda_name" {
  description = "Name of the trigger Lambda (scripts/trigger_dag.py --function-name)."
  value       = module.trigger_lambda.function_name
}

output "gitlab_deploy_role_arn" {
  description = "ARN of the GitLab CI deploy role."
  value       = module.gitlab_oidc.deploy_role_arn
}

output "landing_queue_url_prefix" {
  description = "Airflow's [mlops] landing_queue_url_prefix: a landing queue's URL is it plus <kind>-<model key>."
  value       = module.landing_events.queue_url_prefix
}

output "landing_queue_arns" {
  description = "ARNs of the landing queues keyed by queue suffix (labeled-de, ...)."
  value       = module.landing_events.queue_arns
}

output "landing_queue_urls" {
  description = "URLs of the landing queues keyed by queue suffix."
  value       = module.landing_events.queue_urls
}

output "landing_dead_letter_queue_urls" {
  description = "URLs of the landing queues' dead-letter queues keyed by queue suffix."
  value       = module.landing_events.dead_letter_queue_urls
}
