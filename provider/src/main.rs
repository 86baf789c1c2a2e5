//! The `terraform-provider-primus` binary, started by Terraform.
#![forbid(unsafe_code)]

use terraform_provider_primus::{PrimusProvider, ADDRESS};

fn main() {
    std::process::exit(tfplug::serve::serve_main(PrimusProvider::new(), ADDRESS));
}
