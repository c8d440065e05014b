variable "name" {
  description = "Name of the winners table; the history table is <name>-history."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,247}$", var.name))
    error_message = "name must be 3-247 characters of letters, digits, _, . or - (<name>-history must fit DynamoDB's 255)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts both tables."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Protect both tables from deletion. Turn off explicitly before destroying an environment."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for both tables."
  type        = map(string)
  default     = {}
}
