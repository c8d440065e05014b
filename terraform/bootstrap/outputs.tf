output "state_bucket" {
  description = "Name of the state bucket (bucket in envs/<env>/backend.hcl)."
  value       = module.state_bucket.name
}

output "state_kms_key_arn" {
  description = "ARN of the key that encrypts the state."
  value       = module.kms.key_arn
}
