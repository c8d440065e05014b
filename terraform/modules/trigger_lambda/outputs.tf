output "function_name" {
  description = "Name of the trigger Lambda."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the trigger Lambda (what the CI deploy role may invoke)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the Lambda's execution role."
  value       = aws_iam_role.this.arn
}

output "security_group_id" {
  description = "Security group of the Lambda."
  value       = aws_security_group.this.id
}

output "log_group_name" {
  description = "Log group of the Lambda."
  value       = aws_cloudwatch_log_group.this.name
}

output "dependencies_layer_arn" {
  description = "ARN of the layer with the pinned boto3/botocore (null without dependencies_dir)."
  value       = one(aws_lambda_layer_version.dependencies[*].arn)
}
