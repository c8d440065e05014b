# The prod state's key in the account's state bucket (bucket and region: backend.hcl).
# terraform init -reconfigure -backend-config=env/prod.backend.hcl -backend-config=backend.hcl
key = "mlops/prod/terraform.tfstate"
