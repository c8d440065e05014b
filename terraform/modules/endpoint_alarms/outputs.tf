output "alarm_arns" {
  description = "ARN of each rollback alarm, by alarm name."
  value       = merge({ for name, alarm in aws_cloudwatch_metric_alarm.errors : name => alarm.arn }, { for name, alarm in aws_cloudwatch_metric_alarm.latency : name => alarm.arn })
}
