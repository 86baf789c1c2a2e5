# Onboards one host to a CloudHSM partition in one apply: first primus.cfg
# (where the HSMs are and which slots they serve), then the service proxy
# password (CloudHSM requires it before any permanent secret can be fetched),
# then one permanent secret per user.
resource "primus_config" "this" {
  path = var.config_file

  dynamic "hsm" {
    for_each = var.hsms
    content {
      name    = hsm.value.name
      host    = hsm.value.host
      port    = hsm.value.port
      ca_file = hsm.value.ca_file

      # Every HSM serves every user: a redundant cluster sharing one credential.
      dynamic "slot" {
        for_each = var.users
        content {
          user_name  = slot.value
          id         = var.slot_ids[slot.value]
          proxy_user = var.proxy_user
        }
      }
    }
  }
}

resource "primus_service_proxy_password" "this" {
  proxy_user = var.proxy_user
  password   = var.proxy_password

  depends_on = [primus_config.this]
}

resource "primus_permanent_secret" "user" {
  for_each = var.users

  user            = each.key
  setup_password  = var.setup_passwords[each.key]
  pkcs11_password = var.pkcs11_passwords[each.key]

  depends_on = [primus_service_proxy_password.this]
}
