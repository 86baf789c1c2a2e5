# A permanent secret already in .secrets.cfg (for example added with
# `ppin -a`) is imported by its user name.
terraform import primus_permanent_secret.app PARTITION_APP
