# An existing primus.cfg is imported by its path.
terraform import primus_config.this /etc/primus/primus.cfg
