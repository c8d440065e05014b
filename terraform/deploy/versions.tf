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
  # state). The state key comes from env/<environment>.backend.hcl, bucket and region from the
  # account's backend.hcl: terraform init -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
