# What sets dev apart from the other environments (no account data: that is account.tfvars,
# kept out of git). terraform plan -var-file=env/dev.tfvars -var-file=account.tfvars
environment = "dev"

mwaa_environment_class = "mw1.small"
mwaa_min_workers       = 1
mwaa_max_workers       = 3

vpc_cidr_block = "10.40.0.0/16"
