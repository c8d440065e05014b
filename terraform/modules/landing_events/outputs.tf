output "queue_url_prefix" {
  description = "What Airflow's [mlops] landing_queue_url_prefix is set to: a queue's URL is it plus <kind>-<model key>."
  value       = local.queue_url_prefix
}

output "queue_arns" {
  description = "ARNs of the landing queues keyed by queue suffix (labeled-de, ...)."
  value       = { for suffix, queue in aws_sqs_queue.landing : suffix => queue.arn }
}

output "queue_urls" {
  description = "URLs of the landing queues keyed by queue suffix."
  value       = { for suffix, queue in aws_sqs_queue.landing : suffix => queue.url }
}

output "dead_letter_queue_arns" {
  description = "ARNs of the dead-letter queues keyed by the suffix of the queue they serve."
  value       = { for suffix, queue in aws_sqs_queue.dead_letter : suffix => queue.arn }
}

output "dead_letter_queue_urls" {
  description = "URLs of the dead-letter queues keyed by the suffix of the queue they serve."
  value       = { for suffix, queue in aws_sqs_queue.dead_letter : suffix => queue.url }
}

output "alarm_names" {
  description = "Names of the dead-letter and message-age alarms."
  value       = concat([for alarm in aws_cloudwatch_metric_alarm.dead_letter : alarm.alarm_name], [for alarm in aws_cloudwatch_metric_alarm.oldest_message : alarm.alarm_name])
}
