output "plan_role_arn" {
  description = "ARN of the read-only role merge-request and branch plans assume (TERRAFORM_PLAN_ROLE_ARN in the pipeline)."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "ARN of the role apply jobs on protected refs assume (TERRAFORM_APPLY_ROLE_ARN in the pipeline)."
  value       = aws_iam_role.apply.arn
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for the GitLab instance (existing_gitlab_oidc_provider_arn of the deploy root)."
  value       = local.provider_arn
}

output "plan_subjects" {
  description = "The sub claims the plan role trusts."
  value       = local.plan_subjects
}

output "apply_subjects" {
  description = "The sub claims the apply role trusts."
  value       = local.apply_subjects
}
