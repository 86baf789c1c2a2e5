# Quickstart: onboard one user of the bundled HSM simulator (`hsm-sim --dev`).
# scripts/quickstart.sh starts the simulator, exports SECUROSYS_PKCS11_CONF and
# SECUROSYS_SECRETS_CONF, and passes the simulator's dev credentials as TF_VAR_*.
terraform {
  required_version = ">= 1.0"
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
}

variable "pkcs11_password" {
  description = "The user's PKCS#11 password."
  type        = string
  sensitive   = true
}

resource "primus_permanent_secret" "quickstart" {
  user            = var.user
  setup_password  = var.setup_password
  pkcs11_password = var.pkcs11_password
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
