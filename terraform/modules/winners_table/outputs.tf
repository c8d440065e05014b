output "name" {
  description = "Name of the winners table."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the winners table."
  value       = aws_dynamodb_table.this.arn
}
