# Onboards hosts to a CloudHSM partition in one apply: first primus.cfg
# (where the HSMs are and which slots they serve), then the service proxy
# password (CloudHSM requires it before any permanent secret can be fetched),
# then one permanent secret per user. Each host of var.hosts over SSH, or,
# with no hosts, the machine Terraform runs on.

locals {
  # Where the resources are: one target per host, by its name in var.hosts;
  # with no hosts, this machine as the one target "local", whose host is
  # null. Missing port and host_key are null: the provider's defaults (22,
  # and the provider's ssh.known_hosts_file).
  targets = length(var.hosts) > 0 ? {
    for name, h in var.hosts : name => {
      address  = h["address"]
      port     = tonumber(lookup(h, "port", null))
      host_key = lookup(h, "host_key", null)
    }
  } : { local = null }

  # One permanent secret per target and user, keyed by the user on this
  # machine (the keys this module always had) and "HOST/USER" on hosts.
  secrets = {
    for pair in setproduct(keys(local.targets), var.users) :
    (length(var.hosts) > 0 ? "${pair[0]}/${pair[1]}" : pair[1]) => { target = pair[0], user = pair[1] }
  }
}

resource "primus_config" "this" {
  for_each = local.targets

  # No host block for this machine ("local", whose host is null).
  dynamic "host" {
    for_each = each.value == null ? [] : [each.value]
    content {
      address  = host.value.address
      port     = host.value.port
      host_key = host.value.host_key
    }
  }
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
  for_each = local.targets

  # No host block for this machine ("local", whose host is null).
  dynamic "host" {
    for_each = each.value == null ? [] : [each.value]
    content {
      address  = host.value.address
      port     = host.value.port
      host_key = host.value.host_key
    }
  }
  proxy_user = var.proxy_user
  password   = var.proxy_password

  depends_on = [primus_config.this]
}

resource "primus_permanent_secret" "user" {
  for_each = local.secrets

  # No host block for this machine ("local", whose host is null).
  dynamic "host" {
    for_each = local.targets[each.value.target] == null ? [] : [local.targets[each.value.target]]
    content {
      address  = host.value.address
      port     = host.value.port
      host_key = host.value.host_key
    }
  }
  user            = each.value.user
  setup_password  = var.setup_passwords[each.value.user]
  pkcs11_password = var.pkcs11_passwords[each.value.user]

  depends_on = [primus_service_proxy_password.this]
}
