# Data-driven starts (plugins/mlops/events.py): the uploader writes
# <model prefix>/<YYYY-MM>/<labeled|unlabeled>/_SUCCESS last; the data bucket notifies one SQS queue
# per model and data kind, which MWAA's asset watchers consume. Each queue is encrypted with the
# project key, accepts messages only from S3 on behalf of the data bucket, and has a dead-letter
# queue; alarms on the dead-letter queue and on the age of the oldest waiting message go to the
# notifications topic. The data bucket's one notification configuration is made here.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.region

  # queue suffix (labeled-de, unlabeled-de-batteries) => model key, kind and S3 filter.
  queues = {
    for queue in flatten([
      for model, kinds in var.models : [
        for kind, spec in kinds : merge(spec, { model = model, kind = kind })
      ]
    ]) : queue.queue_suffix => queue
  }

  # What Airflow prepends to a queue suffix ([mlops] landing_queue_url_prefix); every queue's URL
  # is checked against it when the queue is created.
  queue_name_prefix = "${var.name}-landing-"
  queue_url_prefix  = "https://sqs.${local.region}.${local.dns_suffix}/${local.account_id}/${local.queue_name_prefix}"
}

resource "aws_sqs_queue" "dead_letter" {
  for_each = local.queues

  name                              = "${local.queue_name_prefix}${each.key}-dlq"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  message_retention_seconds         = var.dead_letter_retention_seconds
  tags                              = merge(var.tags, { Model = each.value.model, DataKind = each.value.kind })
}

resource "aws_sqs_queue" "landing" {
  for_each = local.queues

  name                              = "${local.queue_name_prefix}${each.key}"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  message_retention_seconds         = var.message_retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  receive_wait_time_seconds         = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = merge(var.tags, { Model = each.value.model, DataKind = each.value.kind })

  lifecycle {
    postcondition {
      condition     = self.url == "${local.queue_url_prefix}${each.key}"
      error_message = "queue ${self.name} has URL ${self.url}, not ${local.queue_url_prefix}${each.key}: Airflow's [mlops] landing_queue_url_prefix would not find it."
    }
  }
}

# Only the queue it serves may move messages into a dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  for_each = local.queues

  queue_url = aws_sqs_queue.dead_letter[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.landing[each.key].arn]
  })
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queues

  statement {
    sid       = "DataBucketEventsOnly"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.landing[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.data_bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "landing" {
  for_each = local.queues

  queue_url = aws_sqs_queue.landing[each.key].id
  policy    = data.aws_iam_policy_document.queue[each.key].json
}

# S3 keeps exactly one notification configuration per bucket: this is the data bucket's.
resource "aws_s3_bucket_notification" "data" {
  bucket = var.data_bucket_name

  dynamic "queue" {
    for_each = local.queues
    content {
      id            = "landing-${queue.key}"
      queue_arn     = aws_sqs_queue.landing[queue.key].arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = queue.value.filter_prefix
      filter_suffix = queue.value.filter_suffix
    }
  }

  # S3 sends a test event to each queue when the configuration is put: the policies must be there.
  depends_on = [aws_sqs_queue_policy.landing]
}

# A message in a dead-letter queue is a month whose start was received and never completed.
resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  for_each = local.queues

  alarm_name          = "${aws_sqs_queue.dead_letter[each.key].name}-not-empty"
  alarm_description   = "Landing events of ${each.value.model} (${each.value.kind}) reached the dead-letter queue: the watcher received them ${var.max_receive_count} times without deleting them. Inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# The watcher polls every few seconds: an old message means nobody consumes the queue.
resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = local.queues

  alarm_name          = "${aws_sqs_queue.landing[each.key].name}-not-consumed"
  alarm_description   = "A landing event of ${each.value.model} (${each.value.kind}) has waited over ${var.max_message_age_seconds} s: is MWAA's triggerer running and [mlops] landing_queue_url_prefix set?"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.landing[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.max_message_age_seconds
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
