# What `ppin -t` (`ppin --test`) does: connects to each HSM and logs in each
# slot of one user (or, without `user`, of every onboarded user) with the
# stored permanent secret. A failed connection or login fails the plan with
# its reason; nothing is retried. `hsm` and `slot` narrow the test further.
data "primus_connection_test" "app" {
  user = "PARTITION_APP"
}

output "served_by" {
  value = [for l in data.primus_connection_test.app.logins : "${l.user} on ${l.hsm} (${l.server})"]
}

output "hsms" {
  value = [for h in data.primus_connection_test.app.hsms : "${h.name} ${h.host}:${h.port} ${h.firmware}: ${h.outcome}"]
}

output "tool" {
  value = data.primus_connection_test.app.tool_version
}
