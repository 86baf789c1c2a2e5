# A service proxy password already in .secrets.cfg (for example added with
# `ppin -p`) is imported by its proxy user name.
# No password is needed; see the guide "Adopting hosts onboarded with ppin".
terraform import primus_service_proxy_password.cloudhsm SERVICE_USER
