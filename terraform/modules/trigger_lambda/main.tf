# The Lambda that CI calls (synchronously) to trigger a DAG run: it checks the DAG id against the
# allowed patterns and the conf size, then calls MWAA InvokeRestApi as the environment's User (or
# Op) Airflow role. It runs in the environment's VPC because the webserver is private.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  airflow_role_arn = "arn:${local.partition}:airflow:${local.region}:${local.account_id}:role/${var.mwaa_environment_name}/${var.airflow_role}"
  log_group_name   = "/aws/lambda/${var.name}"
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = var.source_dir
  output_path = "${var.build_dir}/${var.name}.zip"
  excludes    = ["__pycache__", "**/__pycache__/**", "**/*.pyc"]
}

# boto3/botocore pinned by include/trigger_lambda/requirements.txt (mwaa.invoke_rest_api needs
# botocore >= 1.35.47, newer than some runtime-bundled SDKs), pip-installed into
# <dependencies_dir>/python and shipped as a layer so the function zip stays the plain source.
data "archive_file" "dependencies" {
  count = var.dependencies_dir == null ? 0 : 1

  type        = "zip"
  source_dir  = var.dependencies_dir
  output_path = "${var.build_dir}/${var.name}-dependencies.zip"
  excludes    = ["**/__pycache__/**", "**/*.pyc"]
}

resource "aws_lambda_layer_version" "dependencies" {
  count = var.dependencies_dir == null ? 0 : 1

  layer_name               = "${var.name}-dependencies"
  description              = "Pinned boto3/botocore for ${var.name}"
  filename                 = data.archive_file.dependencies[0].output_path
  source_code_hash         = data.archive_file.dependencies[0].output_base64sha256
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["x86_64"]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-lambda"
  description = "Trigger Lambda ${var.name}: HTTPS to the VPC endpoints only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https_vpc" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to the MWAA and STS interface endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr_block
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-lambda"
  description        = "Trigger Lambda ${var.name}: InvokeRestApi as ${var.airflow_role} of ${var.mwaa_environment_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "permissions" {
  statement {
    sid       = "InvokeAirflowRestApiAsOneRole"
    actions   = ["airflow:InvokeRestApi"]
    resources = [local.airflow_role_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"] # X-Ray has no resource-level permissions
  }

  statement {
    sid       = "DecryptEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["lambda.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "DescribeNetwork"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"] # Describe calls have no resource-level permissions
  }

  statement {
    sid = "ManageOwnNetworkInterfaces"
    actions = [
      "ec2:AssignPrivateIpAddresses",
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "ec2:Vpc"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc/${var.vpc_id}"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "trigger-dag"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously (RequestResponse) by CI, which sees every error; a DLQ only receives failed asynchronous events.
  #checkov:skip=CKV_AWS_272:Packaged by Terraform from include/trigger_lambda in this repository; AWS Signer would sign the same reviewed source.
  function_name                  = var.name
  description                    = "Triggers allowed DAGs of MWAA environment ${var.mwaa_environment_name}"
  role                           = aws_iam_role.this.arn
  handler                        = "handler.handler"
  runtime                        = "python3.12"
  filename                       = data.archive_file.source.output_path
  source_code_hash               = data.archive_file.source.output_base64sha256
  timeout                        = var.timeout_seconds
  memory_size                    = 256
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  layers                         = aws_lambda_layer_version.dependencies[*].arn
  tags                           = var.tags

  environment {
    variables = {
      MWAA_ENVIRONMENT_NAME = var.mwaa_environment_name
      ALLOWED_DAG_PATTERNS  = join(",", var.allowed_dag_patterns)
      MAX_CONF_BYTES        = tostring(var.max_conf_bytes)
      AIRFLOW_UI_BASE_URL   = var.airflow_ui_base_url
    }
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this]
}
