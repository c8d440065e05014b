# The CloudWatch alarms a canary deployment watches (the endpoint's AutoRollbackConfiguration names
# them): one per entry of the countries file's endpoint.rollback_alarms, under exactly that name,
# on the model's endpoint and variant. scripts/terraform_models.py writes the list from the
# countries file; tests/terraform fails when an alarm the rollback names is not created here.
locals {
  # errors: failed InvokeEndpoint answers per minute (5XX from SageMaker plus the model's own
  # errors); latency: the average ModelLatency over a minute, in microseconds as CloudWatch has it.
  error_metrics = ["Invocation5XXErrors", "InvocationModelErrors"]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = { for name, alarm in var.alarms : name => alarm if alarm.metric == "errors" }

  alarm_name          = each.key
  alarm_description   = "Rolls back a canary deployment of endpoint ${var.name_prefix}-${each.value.model_key}: failed invocations (5XX and model errors) per minute."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = each.value.evaluation_periods
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  metric_query {
    id          = "failed"
    expression  = "FILL(m0, 0) + FILL(m1, 0)"
    label       = "Failed invocations"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.error_metrics

    content {
      id = "m${metric_query.key}"

      metric {
        namespace   = "AWS/SageMaker"
        metric_name = metric_query.value
        period      = 60
        stat        = "Sum"
        dimensions = {
          EndpointName = "${var.name_prefix}-${each.value.model_key}"
          VariantName  = each.value.variant_name
        }
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  for_each = { for name, alarm in var.alarms : name => alarm if alarm.metric == "latency" }

  alarm_name          = each.key
  alarm_description   = "Rolls back a canary deployment of endpoint ${var.name_prefix}-${each.value.model_key}: average model latency per minute."
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = each.value.evaluation_periods
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  namespace           = "AWS/SageMaker"
  metric_name         = "ModelLatency"
  statistic           = "Average"
  period              = 60
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  dimensions = {
    EndpointName = "${var.name_prefix}-${each.value.model_key}"
    VariantName  = each.value.variant_name
  }
}
