terraform {
  required_version = ">= 1.0"
  required_providers {
    primus = {
      source  = "primus-iac/primus"
      version = "~> 0.1"
    }
  }
}
