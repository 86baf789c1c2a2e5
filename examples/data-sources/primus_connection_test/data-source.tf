# What `ppin -t` does: logs in at the HSM with the stored permanent secret of
# one user and reports the outcome. Fails the plan when the login fails.
data "primus_connection_test" "app" {
  user = "PARTITION_APP"
}

output "hsm_version" {
  value = data.primus_connection_test.app.hsm_version
}
