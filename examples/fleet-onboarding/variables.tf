variable "hosts" {
  description = "The application hosts to onboard, by a name of your choice (used in resource addresses and outputs): the SSH address, port and public host key of each (ssh-ed25519 AAAA..., as ssh-keyscan prints it without the address; check its fingerprint on the host)."
  type = map(object({
    address  = string
    port     = optional(number, 22)
    host_key = string
  }))
}

variable "users" {
  description = "Partition users to onboard on every host; each needs an entry in setup_passwords and pkcs11_passwords."
  type        = set(string)
}

# The passwords sit in their own maps because Terraform refuses sensitive or
# ephemeral values as for_each keys; the host and user names stay plain.
# Ephemeral: they reach only the write-only arguments, so neither the plan
# nor the state holds them. Pass them with TF_VAR_setup_passwords or -var.
variable "setup_passwords" {
  description = "One-time setup password per user name; within its validity it onboards every host."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "pkcs11_passwords" {
  description = "PKCS#11 password per user name."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "password_wo_versions" {
  description = "Version of the passwords per \"HOST/USER\" (default 1); raising one rotates that user's permanent secret on that host. A user on several hosts shares one secret: rotate it on one host, then replace it on the others (see README.md)."
  type        = map(number)
  default     = {}
}

variable "ssh_user" {
  description = "SSH user on every host (ssh.user)."
  type        = string
  default     = "root"
}

variable "ssh_private_key" {
  description = "Private key of ssh_user, unencrypted OpenSSH, PEM or PKCS#8 text (e.g. file(\"~/.ssh/id_ed25519\")); null: the keys of the SSH agent at SSH_AUTH_SOCK (where a key with a passphrase belongs)."
  type        = string
  default     = null
  sensitive   = true
}

variable "ssh_sudo" {
  description = "Run ppin and the file edits through `sudo -n` (the hosts need a NOPASSWD rule; see the guide \"Onboarding remote hosts over SSH\")."
  type        = bool
  default     = false
}

variable "ssh_timeout" {
  description = "Bound on opening a connection (TCP, key exchange, authentication) and on each channel request."
  type        = string
  default     = "30s"
}

variable "bastion" {
  description = "Jump host every connection goes through (null: none): its address, port, user and public host key. It authenticates with ssh_private_key."
  type = object({
    address  = string
    port     = optional(number, 22)
    user     = string
    host_key = string
  })
  default = null
}

variable "ppin_command" {
  description = "Path of the vendor's ppin on the hosts."
  type        = string
  default     = "/usr/local/primus/bin/ppin"
}

variable "config_file" {
  description = "Path of primus.cfg on the hosts (ppin's -c); null: the vendor's lookup there ($SECUROSYS_PKCS11_CONF, then /etc/primus/primus.cfg, then /usr/local/primus/etc/primus.cfg)."
  type        = string
  default     = null
}

variable "secrets_file" {
  description = "Path of .secrets.cfg on the hosts (ppin's -s); null: the vendor's lookup there."
  type        = string
  default     = null
}

variable "hsms" {
  description = "The HSMs to write into every host's primus.cfg (name such as hsm0, host, port, CA file on the host or null); every one serves every user. Empty: primus.cfg is not managed here and must already list the users on each host."
  type = list(object({
    name    = string
    host    = string
    port    = number
    ca_file = string
  }))
  default = []
}

variable "slot_ids" {
  description = "Slot id of each user in users, by user name; needed only with hsms."
  type        = map(number)
  default     = {}
}
