# A permanent secret already in .secrets.cfg (for example added with
# `ppin -a`) is imported by its user name.
import {
  to       = primus_permanent_secret.app
  identity = { user = "PARTITION_APP" }
}
