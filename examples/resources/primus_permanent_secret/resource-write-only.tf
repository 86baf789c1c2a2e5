# Terraform >= 1.11: the write-only twins keep both passwords out of the plan
# and the state. Terraform never stores them, so bump password_wo_version to
# make the provider rotate the permanent secret with a new setup password.
resource "primus_permanent_secret" "app_wo" {
  user                = "PARTITION_APP2"
  setup_password_wo   = var.setup_password
  pkcs11_password_wo  = var.pkcs11_password
  password_wo_version = 1
}
