# Onboards one host to a CloudHSM partition: first the service proxy password
# (CloudHSM requires it before any permanent secret can be fetched), then one
# permanent secret per user.
resource "primus_service_proxy_password" "this" {
  proxy_user = var.proxy_user
  password   = var.proxy_password
}

resource "primus_permanent_secret" "user" {
  for_each = var.users

  user            = each.key
  setup_password  = var.setup_passwords[each.key]
  pkcs11_password = var.pkcs11_passwords[each.key]

  depends_on = [primus_service_proxy_password.this]
}
