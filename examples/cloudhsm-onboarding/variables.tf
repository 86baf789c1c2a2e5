variable "proxy_user" {
  description = "CloudHSM service proxy user, as in primus.cfg (`proxy_user`)."
  type        = string
}

variable "proxy_password" {
  description = "Password of the service proxy user."
  type        = string
  sensitive   = true
}

variable "users" {
  description = "Partition users to onboard on this host; each needs an entry in setup_passwords and pkcs11_passwords."
  type        = set(string)
}

# The passwords sit in their own sensitive maps because Terraform refuses
# sensitive values as for_each keys; the user names stay plain.
variable "setup_passwords" {
  description = "One-time setup password per user name."
  type        = map(string)
  sensitive   = true
}

variable "pkcs11_passwords" {
  description = "PKCS#11 password per user name."
  type        = map(string)
  sensitive   = true
}
