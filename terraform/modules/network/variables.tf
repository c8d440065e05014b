variable "name" {
  description = "Name prefix of the network resources (VPC, subnets, security groups)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "create_vpc" {
  description = "Create the VPC, private subnets, route tables and flow logs. False: bring your own through vpc_id, vpc_cidr_block, private_subnet_ids and private_route_table_ids."
  type        = bool
  default     = true
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC: the one to create, or that of the VPC you bring."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr_block))
    error_message = "vpc_cidr_block must be an IPv4 CIDR block such as 10.40.0.0/16."
  }
}

variable "availability_zone_suffixes" {
  description = "Availability zones of a created VPC, as letters appended to the region (one private subnet each). A fixed list keeps the subnet layout stable when AWS adds zones; MWAA needs two."
  type        = list(string)
  default     = ["a", "b"]

  validation {
    condition     = length(var.availability_zone_suffixes) >= 2 && length(var.availability_zone_suffixes) <= 6 && alltrue([for s in var.availability_zone_suffixes : can(regex("^[a-z]$", s))])
    error_message = "availability_zone_suffixes must list 2-6 single letters such as [\"a\", \"b\"]: MWAA needs private subnets in at least two AZs."
  }
}

variable "enable_nat_gateway" {
  description = "Give the private subnets internet egress through one NAT gateway (needed for Slack webhooks and for MWAA to install requirements from PyPI)."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "ID of an existing VPC when create_vpc is false."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC ID (vpc-...)."
  }
}

variable "private_subnet_ids" {
  description = "IDs of existing private subnets (two AZs or more) when create_vpc is false."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "private_subnet_ids must be subnet IDs (subnet-...)."
  }
}

variable "private_route_table_ids" {
  description = "Route tables of the existing private subnets, for the S3 and DynamoDB gateway endpoints, when create_vpc is false."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.private_route_table_ids : can(regex("^rtb-[0-9a-f]+$", id))])
    error_message = "private_route_table_ids must be route table IDs (rtb-...)."
  }
}

variable "create_vpc_endpoints" {
  description = "Create the VPC endpoints in a VPC you bring (always created in a created VPC)."
  type        = bool
  default     = true
}

variable "interface_endpoint_services" {
  description = "Interface endpoint services (the part after com.amazonaws.<region>.) the workloads reach privately."
  type        = list(string)
  default = [
    "airflow.api", "airflow.env", "airflow.ops", "ecr.api", "ecr.dkr", "kms", "logs", "monitoring",
    "sagemaker.api", "sagemaker.runtime", "secretsmanager", "sns", "sqs", "sts",
  ]

  validation {
    condition     = alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoint_services must be service suffixes such as sagemaker.api."
  }
}

variable "s3_bucket_arns" {
  description = "The project's buckets: the S3 gateway endpoint's policy lets this account's principals reach these (and ECR's image-layer bucket) and no other bucket."
  type        = list(string)

  validation {
    condition     = length(var.s3_bucket_arns) > 0 && alltrue([for arn in var.s3_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", arn))])
    error_message = "s3_bucket_arns must be a non-empty list of bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the project KMS key (encrypts the flow-log group)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, ..., 365, 400, 545, 731, ...)."
  }
}

variable "tags" {
  description = "Tags for the network resources."
  type        = map(string)
  default     = {}
}
