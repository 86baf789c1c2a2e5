# What `ppin -l` shows: every user and service proxy user of primus.cfg, the
# slot ids each sits on, and whether its secret is configured. Never a secret.
data "primus_secrets" "all" {}

output "missing_users" {
  value = [for u in data.primus_secrets.all.users : u.name if u.status != "Configured"]
}
