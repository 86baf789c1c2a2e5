output "config_file" {
  description = "Path of the primus.cfg the module wrote on this machine; null with hosts (see config_files)."
  value       = length(var.hosts) > 0 ? null : primus_config.this["local"].path
}

output "config_files" {
  description = "Path of the primus.cfg the module wrote, by host name (`local`: this machine)."
  value       = { for name, c in primus_config.this : name => c.path }
}

output "proxy_user" {
  description = "The service proxy user whose password is configured (the same on every host)."
  value       = values(primus_service_proxy_password.this)[0].proxy_user
}

output "slot_ids" {
  description = "Slot ids each onboarded user is configured on, by user name; with hosts, by \"HOST/USER\"."
  value       = { for key, s in primus_permanent_secret.user : key => s.slot_ids }
}

output "status" {
  description = "Status of each user's permanent secret (`Configured`), by user name; with hosts, by \"HOST/USER\"."
  value       = { for key, s in primus_permanent_secret.user : key => s.status }
}
