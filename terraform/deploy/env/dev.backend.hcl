# The dev state's key in the account's state bucket (bucket and region: backend.hcl).
# terraform init -reconfigure -backend-config=env/dev.backend.hcl -backend-config=backend.hcl
key = "mlops/dev/terraform.tfstate"
