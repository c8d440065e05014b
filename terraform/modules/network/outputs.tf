output "vpc_id" {
  description = "ID of the VPC (created or brought)."
  value       = local.vpc_id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = local.vpc_cidr
}

output "private_subnet_ids" {
  description = "IDs of the private subnets MWAA, SageMaker and the Lambda run in."
  value       = local.subnet_ids
}

output "sagemaker_security_group_id" {
  description = "Security group for SageMaker jobs and endpoints."
  value       = aws_security_group.sagemaker.id
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints (null when none are created)."
  value       = one(aws_security_group.endpoints[*].id)
}

output "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint (null when none is created), for HTTPS egress rules."
  value       = try(aws_vpc_endpoint.gateway["s3"].prefix_list_id, null)
}

output "gateway_prefix_list_ids" {
  description = "Prefix lists of the S3 and DynamoDB gateway endpoints, keyed by service."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.prefix_list_id }
}

output "has_internet_egress" {
  description = "Whether the private subnets of a created VPC route to the internet through a NAT gateway."
  value       = var.create_vpc && var.enable_nat_gateway
}
