# The winners registry (plugins/mlops/winners.py): pk = model key (de, de-batteries).
# This table: sk = CURRENT, one item per model, replaced by a conditional transaction.
resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

# The append-only history: sk = HISTORY#<run_started_at>#<run_id>, one item per evaluation run,
# written with PutItem guarded by attribute_not_exists(sk) (the MWAA role may only put, get and
# query here: modules/mwaa). Point-in-time recovery and deletion protection cover what IAM cannot.
resource "aws_dynamodb_table" "history" {
  name                        = "${var.name}-history"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
