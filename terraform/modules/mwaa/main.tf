# Amazon MWAA with a private webserver, every log type on, the bundle's requirements.txt,
# plugins.zip and startup.sh pinned by S3 object version (a new version of any of them updates the
# environment), the Secrets Manager backend, and a least-privilege execution role.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  environment_arn = "arn:${local.partition}:airflow:${local.region}:${local.account_id}:environment/${var.name}"
  sagemaker_arn   = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"
  secrets_arn     = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret"

  # Bundle objects: uploaded here from var.bundle_dir (`make bundle` writes dist/mwaa/), or uploaded
  # by someone else with their versions passed in.
  upload_bundle      = var.bundle_dir != null
  upload_startup     = local.upload_bundle && try(fileexists("${var.bundle_dir}/${var.startup_script_s3_path}"), false)
  requirements_ver   = local.upload_bundle ? aws_s3_object.requirements[0].version_id : var.requirements_s3_object_version
  plugins_ver        = local.upload_bundle ? aws_s3_object.plugins[0].version_id : var.plugins_s3_object_version
  startup_ver        = local.upload_startup ? aws_s3_object.startup[0].version_id : var.startup_script_s3_object_version
  has_startup_script = local.startup_ver != null

  # Name prefixes of everything the DAGs create in SageMaker.
  sagemaker_resources = [
    for kind in [
      "training-job", "processing-job", "hyper-parameter-tuning-job", "transform-job", "model",
      "endpoint-config", "endpoint", "model-package-group", "model-package",
    ] : "${local.sagemaker_arn}:${kind}/${var.name_prefix}-*"
  ]

  airflow_configuration_options = merge(
    {
      "secrets.backend" = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
      "secrets.backend_kwargs" = jsonencode({
        connections_prefix = var.connections_prefix
        variables_prefix   = var.variables_prefix
      })
      "core.load_examples"                       = "False"
      "core.dagbag_import_timeout"               = "60"
      "dag_processor.refresh_interval"           = "60"
      "dag_processor.min_file_process_interval"  = "60"
      "dag_processor.dag_file_processor_timeout" = "120"
    },
    var.airflow_configuration_options,
    # Read at parse time by the landing assets' watchers (plugins/mlops/events.py); last, so that
    # no other option can point them elsewhere.
    var.landing_queue_url_prefix == null ? {} : { "mlops.landing_queue_url_prefix" = var.landing_queue_url_prefix },
  )
}

resource "aws_s3_object" "requirements" {
  count = local.upload_bundle ? 1 : 0

  bucket      = var.source_bucket_name
  key         = var.requirements_s3_path
  source      = "${var.bundle_dir}/${var.requirements_s3_path}"
  source_hash = filemd5("${var.bundle_dir}/${var.requirements_s3_path}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "plugins" {
  count = local.upload_bundle ? 1 : 0

  bucket      = var.source_bucket_name
  key         = var.plugins_s3_path
  source      = "${var.bundle_dir}/${var.plugins_s3_path}"
  source_hash = filemd5("${var.bundle_dir}/${var.plugins_s3_path}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_s3_object" "startup" {
  count = local.upload_startup ? 1 : 0

  bucket      = var.source_bucket_name
  key         = var.startup_script_s3_path
  source      = "${var.bundle_dir}/${var.startup_script_s3_path}"
  source_hash = filemd5("${var.bundle_dir}/${var.startup_script_s3_path}")
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

# Workers, schedulers and the webserver share this group; MWAA needs it to reach itself on all
# ports. Egress is HTTPS to the VPC endpoints and gateways, plus the internet when a NAT exists.
resource "aws_security_group" "this" {
  name        = "${var.name}-mwaa"
  description = "MWAA environment ${var.name}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "self" {
  security_group_id            = aws_security_group.this.id
  description                  = "MWAA components to each other (metadata database, webserver, Celery)"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.this.id
}

resource "aws_vpc_security_group_ingress_rule" "webserver" {
  for_each = var.webserver_client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "HTTPS to the private webserver from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = each.value
}

resource "aws_vpc_security_group_egress_rule" "self" {
  security_group_id            = aws_security_group.this.id
  description                  = "MWAA components to each other"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.this.id
}

resource "aws_vpc_security_group_egress_rule" "https_vpc" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the interface VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_vpc_security_group_egress_rule" "https_gateways" {
  for_each = var.gateway_prefix_list_ids

  security_group_id = aws_security_group.this.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
}

resource "aws_vpc_security_group_egress_rule" "https_internet" {
  count = var.allow_internet_egress ? 1 : 0

  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the internet through the NAT gateway (Slack webhooks, PyPI)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-mwaa-execution"
  description        = "Execution role of MWAA environment ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  source_policy_documents = data.aws_iam_policy_document.landing_queues[*].json

  statement {
    sid       = "PublishEnvironmentMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.environment_arn]
  }

  statement {
    sid       = "ReadAccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"] # account-level call; MWAA refuses to start without it
  }

  statement {
    sid       = "ReadSourceBucket"
    actions   = ["s3:GetBucket*", "s3:GetObject*", "s3:ListBucket"]
    resources = [var.source_bucket_arn, "${var.source_bucket_arn}/*"]
  }

  statement {
    sid       = "ListProjectBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = var.project_bucket_arns
  }

  statement {
    sid       = "ReadWriteProjectObjects"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for arn in var.project_bucket_arns : "${arn}/*"]
  }

  statement {
    sid = "EnvironmentLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:GetLogEvents",
      "logs:GetLogGroupFields",
      "logs:GetLogRecord",
      "logs:GetQueryResults",
      "logs:PutLogEvents",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:airflow-${var.name}-*"]
  }

  statement {
    sid       = "ReadSageMakerJobLogs"
    actions   = ["logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*"]
  }

  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"] # DescribeLogGroups has no resource-level permissions
  }

  statement {
    sid       = "PublishAirflowMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; scoped by namespace below

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA"]
    }
  }

  statement {
    sid = "CeleryQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }

  statement {
    sid = "UseProjectKeyThroughServices"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
    ]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [for service in ["dynamodb", "s3", "secretsmanager", "sns", "sqs", "logs", "sagemaker"] :
        "${service}.${local.region}.amazonaws.com"
      ]
    }
  }

  # CreateEndpoint/UpdateEndpoint with a KMS key make SageMaker create a grant as the caller.
  statement {
    sid       = "SageMakerGrantsOnProjectKey"
    actions   = ["kms:CreateGrant"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sagemaker.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid = "SageMakerOnProjectResources"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateEndpoint",
      "sagemaker:CreateEndpointConfig",
      "sagemaker:CreateHyperParameterTuningJob",
      "sagemaker:CreateModel",
      "sagemaker:CreateModelPackage",
      "sagemaker:CreateModelPackageGroup",
      "sagemaker:CreateProcessingJob",
      "sagemaker:CreateTrainingJob",
      "sagemaker:CreateTransformJob",
      "sagemaker:DeleteEndpointConfig",
      "sagemaker:DeleteModel",
      "sagemaker:DescribeEndpoint",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeHyperParameterTuningJob",
      "sagemaker:DescribeModel",
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:DescribeProcessingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:DescribeTransformJob",
      "sagemaker:InvokeEndpoint",
      "sagemaker:ListTags",
      "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
      "sagemaker:StopHyperParameterTuningJob",
      "sagemaker:StopProcessingJob",
      "sagemaker:StopTrainingJob",
      "sagemaker:StopTransformJob",
      "sagemaker:UpdateEndpoint",
      "sagemaker:UpdateModelPackage",
    ]
    resources = local.sagemaker_resources
  }

  statement {
    sid = "SageMakerListings"
    actions = [
      "sagemaker:ListEndpointConfigs",
      "sagemaker:ListEndpoints",
      "sagemaker:ListHyperParameterTuningJobs",
      "sagemaker:ListModelPackageGroups",
      "sagemaker:ListModelPackages",
      "sagemaker:ListModels",
      "sagemaker:ListProcessingJobs",
      "sagemaker:ListTrainingJobs",
      "sagemaker:ListTransformJobs",
    ]
    resources = ["*"] # List calls have no resource-level permissions
  }

  statement {
    sid       = "PassOnlyTheSageMakerExecutionRole"
    actions   = ["iam:PassRole"]
    resources = [var.sagemaker_execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  # The winners' CURRENT items: read, and replaced by a Put inside TransactWriteItems (IAM
  # checks a transaction's Put as dynamodb:PutItem; there is no UpdateItem or DeleteItem here).
  statement {
    sid       = "WinnersTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
    resources = [var.winners_table_arn]
  }

  # The history: append and read only. IAM cannot require PutItem's attribute_not_exists
  # condition (the code sets it); point-in-time recovery and deletion protection cover the rest.
  statement {
    sid       = "WinnersHistoryAppendOnly"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    resources = [var.winners_history_table_arn]
  }

  # Whatever else is attached to the role, it never rewrites or deletes history.
  statement {
    sid    = "DenyRewritingWinnersHistory"
    effect = "Deny"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:DeleteTable",
      "dynamodb:PartiQLDelete",
      "dynamodb:PartiQLUpdate",
      "dynamodb:UpdateItem",
      "dynamodb:UpdateTable",
    ]
    resources = [var.winners_history_table_arn]
  }

  statement {
    sid       = "Notifications"
    actions   = ["sns:Publish"]
    resources = [var.sns_topic_arn]
  }

  statement {
    sid       = "AirflowSecrets"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = ["${local.secrets_arn}:${var.connections_prefix}/*", "${local.secrets_arn}:${var.variables_prefix}/*"]
  }
}

# The landing assets' watchers consume (receive, then delete) their queues' S3 events, on these
# queues only; the messages are decrypted through SQS (UseProjectKeyThroughServices above).
data "aws_iam_policy_document" "landing_queues" {
  count = length(var.landing_queue_arns) > 0 ? 1 : 0

  statement {
    sid = "ConsumeLandingQueues"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ]
    resources = var.landing_queue_arns
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "mwaa-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_mwaa_environment" "this" {
  name                  = var.name
  airflow_version       = var.airflow_version
  environment_class     = var.environment_class
  min_workers           = var.min_workers
  max_workers           = var.max_workers
  schedulers            = var.schedulers
  execution_role_arn    = aws_iam_role.execution.arn
  kms_key               = var.kms_key_arn
  webserver_access_mode = var.webserver_access_mode
  endpoint_management   = "SERVICE"

  source_bucket_arn                = var.source_bucket_arn
  dag_s3_path                      = var.dag_s3_path
  requirements_s3_path             = var.requirements_s3_path
  requirements_s3_object_version   = local.requirements_ver
  plugins_s3_path                  = var.plugins_s3_path
  plugins_s3_object_version        = local.plugins_ver
  startup_script_s3_path           = local.has_startup_script ? var.startup_script_s3_path : null
  startup_script_s3_object_version = local.startup_ver

  airflow_configuration_options   = local.airflow_configuration_options
  weekly_maintenance_window_start = var.weekly_maintenance_window_start
  tags                            = var.tags

  network_configuration {
    security_group_ids = [aws_security_group.this.id]
    subnet_ids         = slice(var.subnet_ids, 0, 2) # MWAA takes exactly two private subnets
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = var.log_level
    }

    scheduler_logs {
      enabled   = true
      log_level = var.log_level
    }

    task_logs {
      enabled   = true
      log_level = var.log_level
    }

    webserver_logs {
      enabled   = true
      log_level = var.log_level
    }

    worker_logs {
      enabled   = true
      log_level = var.log_level
    }
  }

  depends_on = [aws_iam_role_policy.execution]
}
