variable "repository_names" {
  description = "Image repository names, e.g. <name_prefix>/processing: models name their images, so only untagged images expire. The local backend maps an image URI to its folder by the last path segment."
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))])
    error_message = "repository_names must be non-empty ECR names: lowercase letters, digits, ., _, - and / separators."
  }
}

variable "cache_repository_names" {
  description = "Build-cache repository names, e.g. <name_prefix>/processing-cache (kaniko --cache-repo): their oldest images expire."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.cache_repository_names : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))])
    error_message = "cache_repository_names must be ECR names: lowercase letters, digits, ., _, - and / separators."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the images."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images are expired."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_image_expiry_days >= 1
    error_message = "untagged_image_expiry_days must be at least 1."
  }
}

variable "cache_images_to_keep" {
  description = "How many images each build-cache repository keeps (kaniko layers; no model names them); image repositories expire untagged images only."
  type        = number
  default     = 200

  validation {
    condition     = var.cache_images_to_keep >= 1
    error_message = "cache_images_to_keep must be at least 1."
  }
}

variable "replication_prefix" {
  description = "Repository name prefix that is replicated to replication_destinations and accepted from replication_source_account_ids, e.g. <name_prefix>/."
  type        = string

  validation {
    condition     = endswith(var.replication_prefix, "/") && !strcontains(var.replication_prefix, "*")
    error_message = "replication_prefix must end with / and hold no wildcard."
  }
}

variable "replication_destinations" {
  description = "Accounts and regions every image pushed under replication_prefix is replicated to (dev: prod's account)."
  type = list(object({
    account_id = string
    region     = string
  }))
  default = []

  validation {
    condition = alltrue([
      for d in var.replication_destinations : can(regex("^[0-9]{12}$", d.account_id)) && can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", d.region))
    ])
    error_message = "replication_destinations must hold 12-digit account IDs and region names such as eu-west-1."
  }
}

variable "replication_source_account_ids" {
  description = "Accounts whose registries may replicate into this registry's repositories under replication_prefix (prod: dev's account)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.replication_source_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "replication_source_account_ids must be 12-digit AWS account IDs."
  }
}

variable "force_delete" {
  description = "Allow terraform destroy to delete repositories that still hold images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the repositories."
  type        = map(string)
  default     = {}
}
