# Private networking for MWAA, SageMaker jobs and the trigger Lambda: private subnets in at least
# two AZs, gateway endpoints for S3 and DynamoDB, interface endpoints for every other AWS API the
# workloads call, VPC flow logs, and the security groups of the workloads. With create_vpc = false
# the same security groups (and, optionally, endpoints) are placed in a VPC you bring.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  vpc_id     = var.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  vpc_cidr   = var.create_vpc ? aws_vpc.this[0].cidr_block : var.vpc_cidr_block
  subnet_ids = var.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  azs        = [for suffix in var.availability_zone_suffixes : "${local.region}${suffix}"]
  az_count   = length(local.azs)

  route_table_ids   = var.create_vpc ? aws_route_table.private[*].id : var.private_route_table_ids
  create_endpoints  = var.create_vpc || var.create_vpc_endpoints
  interface_service = local.create_endpoints ? toset(var.interface_endpoint_services) : toset([])
  gateway_service   = local.create_endpoints ? toset(["s3", "dynamodb"]) : toset([])
  # Each interface endpoint passes its own service's actions: the IAM prefix is the service name's
  # first part (sagemaker.runtime: sagemaker, ecr.dkr: ecr), but monitoring's is cloudwatch.
  interface_action_prefixes = {
    for service in local.interface_service : service => (split(".", service)[0] == "monitoring" ? "cloudwatch" : split(".", service)[0])
  }
}

resource "aws_vpc" "this" {
  count = var.create_vpc ? 1 : 0

  cidr_block           = var.vpc_cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

# The default security group of a VPC allows all traffic between its members: strip every rule.
resource "aws_default_security_group" "this" {
  count = var.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "private" {
  count = var.create_vpc ? local.az_count : 0

  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr_block, 4, count.index)
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table" "private" {
  count = var.create_vpc ? local.az_count : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count = var.create_vpc ? local.az_count : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Optional egress to the internet (Slack webhooks, PyPI for MWAA requirements): one NAT gateway
# in a public subnet; the private subnets route 0.0.0.0/0 through it.
resource "aws_subnet" "public" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = local.azs[0]
  cidr_block              = cidrsubnet(var.vpc_cidr_block, 4, 15)
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-public-nat" })
}

resource "aws_internet_gateway" "this" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_eip" "nat" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat" })
}

resource "aws_nat_gateway" "this" {
  count = var.create_vpc && var.enable_nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = merge(var.tags, { Name = var.name })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route" "private_nat" {
  count = var.create_vpc && var.enable_nat_gateway ? local.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

# Flow logs of the whole VPC into an encrypted log group.
resource "aws_cloudwatch_log_group" "flow_logs" {
  count = var.create_vpc ? 1 : 0

  name              = "/vpc/${var.name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.create_vpc ? 1 : 0

  name               = "${var.name}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "flow_logs" {
  count = var.create_vpc ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.create_vpc ? 1 : 0

  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}

resource "aws_flow_log" "this" {
  count = var.create_vpc ? 1 : 0

  vpc_id          = aws_vpc.this[0].id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = aws_iam_role.flow_logs[0].arn
  tags            = var.tags
}

# VPC endpoints: gateways for S3 and DynamoDB, interfaces for the rest, reachable on 443 from the VPC.
resource "aws_security_group" "endpoints" {
  count = local.create_endpoints ? 1 : 0

  name        = "${var.name}-vpc-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  count = local.create_endpoints ? 1 : 0

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS from the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = local.vpc_cidr
}

# Endpoint policies: what may pass through each endpoint, on top of the callers' IAM. S3: this
# account's principals on the project's buckets, and the bucket ECR serves image layers from
# (an image pull through the ecr.dkr endpoint downloads its layers from it); DynamoDB: this
# account's principals on this account's tables; interface endpoints: this account's principals
# on this account's resources (or on none, for calls without a resource).
data "aws_iam_policy_document" "s3_endpoint" {
  statement {
    sid       = "ProjectBuckets"
    actions   = ["s3:*"]
    resources = concat(var.s3_bucket_arns, [for arn in var.s3_bucket_arns : "${arn}/*"])

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "EcrImageLayers"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::prod-${local.region}-starport-layer-bucket/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

data "aws_iam_policy_document" "dynamodb_endpoint" {
  statement {
    sid       = "AccountTables"
    actions   = ["dynamodb:*"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "interface_endpoint" {
  for_each = local.interface_service

  statement {
    sid       = "AccountPrincipalsOnAccountResources"
    actions   = ["${local.interface_action_prefixes[each.value]}:*"]
    resources = ["*"] # scoped to this account's resources by the condition below

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }

    # IfExists: calls that name no resource (GetAuthorizationToken, PutMetricData) carry no
    # aws:ResourceAccount.
    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:ResourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.gateway_service

  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.route_table_ids
  policy            = each.value == "s3" ? data.aws_iam_policy_document.s3_endpoint.json : data.aws_iam_policy_document.dynamodb_endpoint.json
  tags              = merge(var.tags, { Name = "${var.name}-${each.value}" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_service

  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = local.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  policy              = data.aws_iam_policy_document.interface_endpoint[each.key].json
  tags                = merge(var.tags, { Name = "${var.name}-${each.value}" })
}

# Security group for SageMaker jobs and endpoints: instances of one job talk to each other
# (distributed training), and reach AWS APIs over HTTPS through the endpoints and gateways.
resource "aws_security_group" "sagemaker" {
  #checkov:skip=CKV2_AWS_5:Attached at run time: the DAGs pass it in each SageMaker job's VpcConfig (settings key security_group_ids).
  name        = "${var.name}-sagemaker"
  description = "SageMaker training, processing and transform jobs and endpoints"
  vpc_id      = local.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "sagemaker_self" {
  security_group_id            = aws_security_group.sagemaker.id
  description                  = "Traffic between instances of the same job"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.sagemaker.id
}

resource "aws_vpc_security_group_egress_rule" "sagemaker_self" {
  security_group_id            = aws_security_group.sagemaker.id
  description                  = "Traffic between instances of the same job"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.sagemaker.id
}

resource "aws_vpc_security_group_egress_rule" "sagemaker_https_vpc" {
  security_group_id = aws_security_group.sagemaker.id
  description       = "HTTPS to the interface endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = local.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "sagemaker_https_gateways" {
  for_each = aws_vpc_endpoint.gateway

  security_group_id = aws_security_group.sagemaker.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value.prefix_list_id
}
