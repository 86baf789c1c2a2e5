# What `ppin --fetchlog` dumps: the partition log of one user on one HSM,
# read with the user's stored permanent secret. Each HSM of a redundant
# cluster keeps its own log; name it as in primus.cfg (hsm0) or by its host.
data "primus_partition_log" "app" {
  user  = "PARTITION_APP"
  hsm   = "hsm0"
  since = "2021-04-01"
}

# Who traded a setup password for this partition, from where and when.
output "setup_password_logins" {
  value = [for line in data.primus_partition_log.app.lines : line if length(regexall("with setup password", line)) > 0]
}
