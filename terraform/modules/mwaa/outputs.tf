output "environment_name" {
  description = "Name of the MWAA environment."
  value       = aws_mwaa_environment.this.name
}

output "environment_arn" {
  description = "ARN of the MWAA environment."
  value       = aws_mwaa_environment.this.arn
}

output "webserver_url" {
  description = "Host name of the Airflow webserver (private when webserver_access_mode is PRIVATE_ONLY)."
  value       = aws_mwaa_environment.this.webserver_url
}

output "airflow_base_url" {
  description = "https:// URL of the Airflow UI, the base of links in notifications."
  value       = "https://${aws_mwaa_environment.this.webserver_url}"
}

output "execution_role_arn" {
  description = "ARN of the environment's execution role."
  value       = aws_iam_role.execution.arn
}

output "security_group_id" {
  description = "Security group of the environment."
  value       = aws_security_group.this.id
}

output "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt the environment runs."
  value       = local.requirements_ver
}

output "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip the environment runs."
  value       = local.plugins_ver
}
