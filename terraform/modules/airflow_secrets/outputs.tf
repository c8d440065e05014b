output "settings_secret_arn" {
  description = "ARN of the secret that MWAA serves as the settings Variable."
  value       = aws_secretsmanager_secret.settings.arn
}

output "connection_secret_arns" {
  description = "ARNs of the connection secrets, keyed by connection ID."
  value       = { for id, secret in aws_secretsmanager_secret.connections : id => secret.arn }
}

output "variables_prefix" {
  description = "Secrets Manager prefix of Airflow Variables."
  value       = var.variables_prefix
}

output "connections_prefix" {
  description = "Secrets Manager prefix of Airflow connections."
  value       = var.connections_prefix
}
