# One private repository per image, and one per image's build cache: immutable tags, scan on push,
# KMS. A tag, once pushed, names one digest for good, and a model package (which names its image
# by tag) can be deployed or batch-transformed again however old it is: the image repositories'
# lifecycle expires untagged images only, never a tagged one. The build caches (kaniko layers, no
# model names them) keep their newest images only.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  repositories = toset(concat(var.repository_names, var.cache_repository_names))

  untagged_rule = {
    rulePriority = 1
    description  = "Expire untagged images"
    selection = {
      tagStatus   = "untagged"
      countType   = "sinceImagePushed"
      countUnit   = "days"
      countNumber = var.untagged_image_expiry_days
    }
    action = { type = "expire" }
  }
  image_lifecycle_policy = jsonencode({ rules = [local.untagged_rule] })
  cache_lifecycle_policy = jsonencode({
    rules = [
      local.untagged_rule,
      {
        rulePriority = 2
        description  = "Keep the newest cache images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.cache_images_to_keep
        }
        action = { type = "expire" }
      },
    ]
  })

  registry_arn_prefix = "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:repository"
}

resource "aws_ecr_repository" "this" {
  for_each = local.repositories

  name                 = each.value
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "images" {
  for_each = toset(var.repository_names)

  repository = aws_ecr_repository.this[each.value].name
  policy     = local.image_lifecycle_policy
}

resource "aws_ecr_lifecycle_policy" "caches" {
  for_each = toset(var.cache_repository_names)

  repository = aws_ecr_repository.this[each.value].name
  policy     = local.cache_lifecycle_policy
}

# Promotion to another environment's registry (dev -> prod): ECR replicates every image pushed to a
# repository under replication_prefix, by digest and with its tags, into the destination's
# repository of the same name (terraform/deploy makes them there, with that account's key).
resource "aws_ecr_replication_configuration" "this" {
  count = length(var.replication_destinations) > 0 ? 1 : 0

  replication_configuration {
    rule {
      dynamic "destination" {
        for_each = var.replication_destinations
        content {
          region      = destination.value.region
          registry_id = destination.value.account_id
        }
      }

      repository_filter {
        filter      = var.replication_prefix
        filter_type = "PREFIX_MATCH"
      }
    }
  }
}

# The destination side: the source accounts may replicate into this registry's project
# repositories only.
data "aws_iam_policy_document" "replication" {
  count = length(var.replication_source_account_ids) > 0 ? 1 : 0

  statement {
    sid     = "ReplicateFromSourceRegistries"
    actions = ["ecr:CreateRepository", "ecr:ReplicateImage"]
    resources = [
      "${local.registry_arn_prefix}/${var.replication_prefix}*",
    ]

    principals {
      type        = "AWS"
      identifiers = [for id in var.replication_source_account_ids : "arn:${data.aws_partition.current.partition}:iam::${id}:root"]
    }
  }
}

resource "aws_ecr_registry_policy" "replication" {
  count = length(var.replication_source_account_ids) > 0 ? 1 : 0

  policy = data.aws_iam_policy_document.replication[0].json
}
