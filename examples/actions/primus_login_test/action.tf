# Logs in as PARTITION_APP with its stored permanent secret, only when asked
# (Terraform 1.14 or later):
#   terraform apply -invoke=action.primus_login_test.check
action "primus_login_test" "check" {
  config {
    user = "PARTITION_APP"
  }
}
