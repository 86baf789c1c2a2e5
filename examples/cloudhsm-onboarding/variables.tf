# A map of maps rather than of objects with optional attributes: this module
# keeps working on Terraform 1.0, which has no optional() (1.3).
variable "hosts" {
  description = "The hosts to onboard over SSH (the provider's ssh block connects), by a name used in resource keys and outputs: address, and optionally port (default 22) and host_key (the public host key, ssh-ed25519 AAAA...; default: the provider's ssh.known_hosts_file). Empty (the default): the machine Terraform runs on."
  type        = map(map(string))
  default     = {}
}

variable "config_file" {
  description = "Where to write primus.cfg (on each host, with hosts); null: the provider's config_file (ssh.config_file on hosts), else $SECUROSYS_PKCS11_CONF, else /etc/primus/primus.cfg."
  type        = string
  default     = null
}

variable "hsms" {
  description = "The CloudHSM endpoints (redundant HSMs of one partition): setting name (e.g. hsm0), host, port and the CA file that signed its TLS certificate (null: none)."
  type = list(object({
    name    = string
    host    = string
    port    = number
    ca_file = string
  }))
}

variable "slot_ids" {
  description = "Slot id of each user in var.users, by user name."
  type        = map(number)
}

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
  description = "Partition users to onboard on every host; each needs an entry in setup_passwords and pkcs11_passwords."
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
