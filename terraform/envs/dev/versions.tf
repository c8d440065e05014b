terraform {
  required_version = ">= 1.11, < 2.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }

  # Remote state in the bootstrap bucket, with S3-native locking (a .tflock object beside the
  # state). bucket and region come from backend.hcl: terraform init -backend-config=backend.hcl
  backend "s3" {
    key          = "mlops/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
