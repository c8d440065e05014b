output "deploy_role_arn" {
  description = "ARN of the role GitLab CI assumes (AWS_ROLE_ARN in the pipeline)."
  value       = aws_iam_role.deploy.arn
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for the GitLab instance."
  value       = local.provider_arn
}

output "allowed_subjects" {
  description = "The sub claims the deploy role trusts."
  value       = local.subjects
}
