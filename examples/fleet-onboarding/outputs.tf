output "status" {
  description = "Status of each user's permanent secret (`Configured`), by host name, then user name."
  value = {
    for name in keys(var.hosts) : name => {
      for user in var.users : user => primus_permanent_secret.user["${name}/${user}"].status
    }
  }
}

output "slot_ids" {
  description = "Slot ids each user is configured on, by host name, then user name."
  value = {
    for name in keys(var.hosts) : name => {
      for user in var.users : user => primus_permanent_secret.user["${name}/${user}"].slot_ids
    }
  }
}

output "config_files" {
  description = "Path of the primus.cfg written on each host, by host name (empty when hsms is)."
  value       = { for name, c in primus_config.host : name => c.path }
}
