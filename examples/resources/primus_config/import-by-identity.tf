# An existing primus.cfg is imported by its path.
import {
  to       = primus_config.this
  identity = { path = "/etc/primus/primus.cfg" }
}
