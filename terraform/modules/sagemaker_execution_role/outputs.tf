output "role_arn" {
  description = "ARN of the SageMaker execution role (settings key sagemaker_execution_role_arn)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.this.name
}
