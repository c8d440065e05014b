variable "repository_names" {
  description = "Repository names, e.g. <name_prefix>/processing. The local backend maps an image URI to its folder by the last path segment."
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))])
    error_message = "repository_names must be non-empty ECR names: lowercase letters, digits, ., _, - and / separators."
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

variable "tagged_images_to_keep" {
  description = "How many images each repository keeps; older ones are expired. Keep it above the number of tags a rollback may need."
  type        = number
  default     = 50

  validation {
    condition     = var.tagged_images_to_keep >= 1
    error_message = "tagged_images_to_keep must be at least 1."
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
