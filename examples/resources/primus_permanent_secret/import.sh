# A permanent secret already in .secrets.cfg (for example added with
# `ppin -a`) is imported by its user name.
# No password is needed and nothing is sent to the HSM; see the guide
# "Adopting hosts onboarded with ppin".
terraform import primus_permanent_secret.app PARTITION_APP
