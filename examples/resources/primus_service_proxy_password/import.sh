# A service proxy password already in .secrets.cfg (for example added with
# `ppin -p`) is imported by its proxy user name.
terraform import primus_service_proxy_password.cloudhsm SERVICE_USER
