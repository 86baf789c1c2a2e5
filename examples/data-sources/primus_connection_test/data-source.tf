# What `ppin -t` does: logs in at the HSM with the stored permanent secret of
# one user (or, without `user`, of every onboarded user). A failed login fails
# the plan with the HSM's answer; it is never retried.
data "primus_connection_test" "app" {
  user = "PARTITION_APP"
}

output "served_by" {
  value = [for l in data.primus_connection_test.app.logins : "${l.user} on ${l.hsm} (${l.server})"]
}
