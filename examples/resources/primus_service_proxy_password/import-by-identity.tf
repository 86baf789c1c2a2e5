# A service proxy password already in .secrets.cfg (for example added with
# `ppin -p`) is imported by its proxy user name.
import {
  to       = primus_service_proxy_password.cloudhsm
  identity = { proxy_user = "SERVICE_USER" }
}
