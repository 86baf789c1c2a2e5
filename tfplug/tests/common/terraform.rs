//! What the tests driving a real Terraform share: the example provider,
//! the release to run and the head of every configuration.

use std::path::{Path, PathBuf};

use tfplug::testing::{target_binary, terraform_binary, Workspace};

/// The example provider's binary.
pub(crate) fn example() -> PathBuf {
    target_binary("examples/localfile").unwrap()
}

/// A workspace with the example provider, run by Terraform 1.15.5, which
/// `scripts/install-tools.sh` installs beside 1.0.3.
pub(crate) fn workspace_on_1_15_5() -> Workspace {
    let mut ws = Workspace::new(&example(), "tfplug/localfile", "0.1.0").unwrap();
    ws.set_terraform(
        terraform_binary()
            .unwrap()
            .with_file_name("terraform-1.15.5"),
    );
    ws
}

/// The `terraform` block requiring the example provider, and its
/// `provider` block serving files under `root`.
pub(crate) fn provider_block(root: &Path) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    localfile = {{ source = "tfplug/localfile", version = "0.1.0" }}
  }}
}}
provider "localfile" {{
  root = "{}"
}}
"#,
        root.display()
    )
}
