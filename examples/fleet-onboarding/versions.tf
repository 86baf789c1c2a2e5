terraform {
  # Write-only arguments (1.11), ephemeral variables (1.10) and optional
  # object attributes with defaults (1.3).
  required_version = ">= 1.11"
  required_providers {
    primus = {
      source  = "primus-iac/primus"
      version = "~> 0.1"
    }
  }
}
