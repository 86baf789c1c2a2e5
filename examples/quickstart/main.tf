# Quickstart: onboard one user of the bundled HSM simulator (`hsm-sim --dev`).
# scripts/quickstart.sh starts the simulator, exports SECUROSYS_PKCS11_CONF and
# SECUROSYS_SECRETS_CONF, and passes the simulator's dev credentials as TF_VAR_*.
#
# Terraform 1.11 or later: the passwords are ephemeral variables fed to the
# write-only arguments, so neither the plan nor the state ever holds them.
# On Terraform 1.0-1.10 drop `ephemeral = true` and use `setup_password` /
# `pkcs11_password` instead (sensitive, but stored in the state).
terraform {
  required_version = ">= 1.11"
  required_providers {
    primus = {
      source  = "primus-iac/primus"
      version = "~> 0.1"
    }
  }
}

# Empty on purpose: the provider reads the vendor's environment variables.
provider "primus" {}

variable "user" {
  description = "Partition user to onboard."
  type        = string
}

variable "setup_password" {
  description = "The user's one-time setup password."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "pkcs11_password" {
  description = "The user's PKCS#11 password."
  type        = string
  sensitive   = true
  ephemeral   = true
}

resource "primus_permanent_secret" "quickstart" {
  user               = var.user
  setup_password_wo  = var.setup_password
  pkcs11_password_wo = var.pkcs11_password
  # Terraform never stores write-only values, so it cannot see them change:
  # raise this (with a new setup password) to rotate the permanent secret.
  password_wo_version = 1
}

# Logs in with the new permanent secret, as `ppin -t` does.
data "primus_connection_test" "quickstart" {
  user = primus_permanent_secret.quickstart.user
}

output "slot_ids" {
  value = primus_permanent_secret.quickstart.slot_ids
}

output "status" {
  value = primus_permanent_secret.quickstart.status
}
