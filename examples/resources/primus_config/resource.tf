# primus.cfg with two redundant HSMs serving one partition user behind a
# CloudHSM service proxy. Resources that use it depend on it, so one apply
# writes the file and then onboards the user.
resource "primus_config" "this" {
  path = "/etc/primus/primus.cfg"

  hsm {
    name    = "hsm0"
    host    = "cloudhsm-1.example"
    port    = 2310
    ca_file = "/etc/primus/ca.pem"

    slot {
      user_name  = "CLOUDHSM_APP"
      id         = 0
      proxy_user = "SERVICE_USER"
    }
  }

  hsm {
    name     = "hsm1"
    host     = "cloudhsm-2.example"
    port     = 2310
    ca_file  = "/etc/primus/ca.pem"
    priority = 10

    slot {
      user_name  = "CLOUDHSM_APP"
      id         = 0
      proxy_user = "SERVICE_USER"
    }
  }
}
