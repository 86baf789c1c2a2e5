output "config_file" {
  description = "Path of the primus.cfg the module wrote."
  value       = primus_config.this.path
}

output "proxy_user" {
  description = "The service proxy user whose password is configured."
  value       = primus_service_proxy_password.this.proxy_user
}

output "slot_ids" {
  description = "Slot ids each onboarded user is configured on, by user name."
  value       = { for name, s in primus_permanent_secret.user : name => s.slot_ids }
}

output "status" {
  description = "Status of each user's permanent secret (`Configured`), by user name."
  value       = { for name, s in primus_permanent_secret.user : name => s.status }
}
