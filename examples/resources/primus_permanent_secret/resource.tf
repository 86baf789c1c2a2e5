variable "setup_password" {
  description = "One-time setup password of PARTITION_APP, e.g. FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3."
  type        = string
  sensitive   = true
}

variable "pkcs11_password" {
  description = "PKCS#11 password of PARTITION_APP."
  type        = string
  sensitive   = true
}

# Trades the setup password for a permanent secret (`ppin -a -e PARTITION_APP`)
# and stores it ciphered in .secrets.cfg. A new setup_password later rotates the
# permanent secret (`ppin -u`); destroy removes it (`ppin -r`).
resource "primus_permanent_secret" "app" {
  user            = "PARTITION_APP"
  setup_password  = var.setup_password
  pkcs11_password = var.pkcs11_password
}

output "app_slot_ids" {
  value = primus_permanent_secret.app.slot_ids
}
