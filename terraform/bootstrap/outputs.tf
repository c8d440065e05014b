output "state_bucket" {
  description = "Name of the state bucket (bucket in envs/<env>/backend.hcl)."
  value       = module.state_bucket.name
}

output "state_kms_key_arn" {
  description = "ARN of the key that encrypts the state."
  value       = module.kms.key_arn
}

output "terraform_plan_role_arn" {
  description = "Read-only role of terraform plan in every pipeline (CI/CD variable TERRAFORM_PLAN_ROLE_ARN)."
  value       = module.gitlab_terraform_roles.plan_role_arn
}

output "terraform_apply_role_arn" {
  description = "Role of terraform apply on protected refs (CI/CD variable TERRAFORM_APPLY_ROLE_ARN, protected)."
  value       = module.gitlab_terraform_roles.apply_role_arn
}

output "gitlab_oidc_provider_arn" {
  description = "The account's GitLab OIDC provider (existing_gitlab_oidc_provider_arn in terraform/deploy's account.tfvars)."
  value       = module.gitlab_terraform_roles.oidc_provider_arn
}
