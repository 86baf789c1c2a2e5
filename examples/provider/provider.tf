terraform {
  required_providers {
    primus = {
      source  = "primus-iac/primus"
      version = "~> 0.1"
    }
  }
}

# Every argument is optional. With SECUROSYS_PKCS11_CONF and
# SECUROSYS_SECRETS_CONF exported (or the files at the vendor's default paths)
# an empty `provider "primus" {}` block is enough.
provider "primus" {
  config_file  = "/etc/primus/primus.cfg"
  secrets_file = "/etc/primus/.secrets.cfg"

  # On a host with the vendor's Primus PKCS#11 provider, let its own ppin do
  # the work against the real HSM (guide: "Using the vendor's ppin").
  # ppin_command = "/usr/local/primus/bin/ppin"
}
