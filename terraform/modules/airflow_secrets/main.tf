# What MWAA's Secrets Manager backend serves to the DAGs:
#   airflow/variables/<name>   -> Airflow Variable <name>     (the environment settings JSON)
#   airflow/connections/<id>   -> Airflow connection <id>     (the Slack webhook; value set out of band)
# The prefixes match airflow_configuration_options in the mwaa module.
resource "aws_secretsmanager_secret" "settings" {
  #checkov:skip=CKV2_AWS_57:Holds environment settings (names and ARNs), not a credential; Terraform rewrites it on every change of its outputs.
  name                    = "${var.variables_prefix}/${var.settings_variable_name}"
  description             = "Airflow Variable ${var.settings_variable_name}: environment settings JSON the DAG package reads (written from Terraform outputs)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "settings" {
  secret_id     = aws_secretsmanager_secret.settings.id
  secret_string = jsonencode(var.settings)
}

# The value is never in Terraform state: put it with
#   aws secretsmanager put-secret-value --secret-id airflow/connections/slack_webhook \
#     --secret-string '{"conn_type": "slackwebhook", "password": "https://hooks.slack.com/services/..."}'
resource "aws_secretsmanager_secret" "connections" {
  #checkov:skip=CKV2_AWS_57:A Slack incoming-webhook URL cannot be rotated by a Lambda; it is replaced out of band (see terraform/README.md).
  for_each = toset(var.connection_ids)

  name                    = "${var.connections_prefix}/${each.value}"
  description             = "Airflow connection ${each.value}; value set out of band, never in Terraform state."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}
