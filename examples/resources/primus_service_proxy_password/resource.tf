variable "proxy_password" {
  description = "Password of the CloudHSM service proxy user."
  type        = string
  sensitive   = true
}

variable "setup_password" {
  description = "One-time setup password of CLOUDHSM_APP."
  type        = string
  sensitive   = true
}

variable "pkcs11_password" {
  description = "PKCS#11 password of CLOUDHSM_APP."
  type        = string
  sensitive   = true
}

# CloudHSM: stores the service proxy password (`ppin -p -e SERVICE_USER`).
# Permanent secrets of users behind this proxy depend on it.
resource "primus_service_proxy_password" "cloudhsm" {
  proxy_user = "SERVICE_USER"
  password   = var.proxy_password
}

resource "primus_permanent_secret" "app" {
  user            = "CLOUDHSM_APP"
  setup_password  = var.setup_password
  pkcs11_password = var.pkcs11_password

  depends_on = [primus_service_proxy_password.cloudhsm]
}
