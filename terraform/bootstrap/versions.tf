terraform {
  required_version = ">= 1.11, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }

  # Local state on the first apply (the bucket does not exist yet). Afterwards, move this root's own
  # state into the bucket: see terraform/README.md, "Bootstrap the state bucket".
}
