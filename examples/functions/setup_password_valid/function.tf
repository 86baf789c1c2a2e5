# A mistyped setup password fails the plan at the variable, before anything
# is sent to the HSM (Terraform 1.8 or later).
variable "setup_password" {
  type      = string
  sensitive = true

  validation {
    condition     = provider::primus::setup_password_valid(var.setup_password)
    error_message = "The setup password is five groups of five A-Z/0-9 characters joined by '-' (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)."
  }
}
