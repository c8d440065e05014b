# What sets prod apart from the other environments (no account data: that is account.tfvars,
# kept out of git). terraform plan -var-file=env/prod.tfvars -var-file=account.tfvars
environment = "prod"

mwaa_environment_class = "mw1.medium"
mwaa_min_workers       = 2
mwaa_max_workers       = 10

vpc_cidr_block = "10.41.0.0/16"
