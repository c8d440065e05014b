output "name" {
  description = "Name of the winners table (the CURRENT items)."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the winners table (the CURRENT items)."
  value       = aws_dynamodb_table.this.arn
}

output "history_name" {
  description = "Name of the history table (<name>-history, append-only)."
  value       = aws_dynamodb_table.history.name
}

output "history_arn" {
  description = "ARN of the history table (<name>-history, append-only)."
  value       = aws_dynamodb_table.history.arn
}
