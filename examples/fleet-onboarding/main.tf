# Onboards every host of var.hosts, over SSH, from wherever Terraform runs:
# optionally primus.cfg first, then one permanent secret per host and user.
# On each host the vendor's ppin does the work; passwords are typed at its
# no-echo prompts, never put on its command line.
provider "primus" {
  ssh {
    user         = var.ssh_user
    private_key  = var.ssh_private_key
    timeout      = var.ssh_timeout
    sudo         = var.ssh_sudo
    ppin_command = var.ppin_command
    config_file  = var.config_file
    secrets_file = var.secrets_file

    bastion_host     = var.bastion == null ? null : var.bastion.address
    bastion_port     = var.bastion == null ? null : var.bastion.port
    bastion_user     = var.bastion == null ? null : var.bastion.user
    bastion_host_key = var.bastion == null ? null : var.bastion.host_key
  }
}

locals {
  # One permanent secret per host and user, keyed "HOST/USER".
  secrets = {
    for pair in setproduct(keys(var.hosts), var.users) :
    "${pair[0]}/${pair[1]}" => { host = pair[0], user = pair[1] }
  }
}

# primus.cfg on every host, only when var.hsms names the HSMs.
resource "primus_config" "host" {
  for_each = length(var.hsms) > 0 ? var.hosts : {}

  host {
    address  = each.value.address
    port     = each.value.port
    host_key = each.value.host_key
  }
  path = var.config_file

  dynamic "hsm" {
    for_each = var.hsms
    content {
      name    = hsm.value.name
      host    = hsm.value.host
      port    = hsm.value.port
      ca_file = hsm.value.ca_file

      dynamic "slot" {
        for_each = var.users
        content {
          user_name = slot.value
          id        = var.slot_ids[slot.value]
        }
      }
    }
  }
}

resource "primus_permanent_secret" "user" {
  for_each = local.secrets

  host {
    address  = var.hosts[each.value.host].address
    port     = var.hosts[each.value.host].port
    host_key = var.hosts[each.value.host].host_key
  }
  user                = each.value.user
  setup_password_wo   = var.setup_passwords[each.value.user]
  pkcs11_password_wo  = var.pkcs11_passwords[each.value.user]
  password_wo_version = lookup(var.password_wo_versions, each.key, 1)

  # primus.cfg, when managed here, is written first.
  depends_on = [primus_config.host]
}
