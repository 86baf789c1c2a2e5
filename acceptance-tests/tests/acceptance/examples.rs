//! Every example under `examples/` is valid against the provider's schema:
//! `terraform init` and `terraform validate` with the real Terraform 1.0.3.

use std::path::Path;

use acceptance_tests::{workspace_root, SOURCE, TERRAFORM_BLOCK, VERSION};
use tfplug::testing::{target_binary, Workspace};

/// Examples Terraform 1.0.3 cannot validate: write-only attributes need
/// Terraform 1.11, and the provider refuses them on older clients
/// (tested in failures::write_only_passwords_are_refused_by_terraform_1_0).
const NEEDS_TERRAFORM_1_11: &str = "resource-write-only.tf";

fn validate(dir: &Path) {
    // Validation does not configure the provider, so no simulator is needed.
    let ws = Workspace::new(
        &target_binary("terraform-provider-primus").unwrap(),
        SOURCE,
        VERSION,
    )
    .unwrap();
    let work = ws.work_dir();
    let mut has_terraform_block = false;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".tf") || name == NEEDS_TERRAFORM_1_11 {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        has_terraform_block |= text.contains("required_providers");
        std::fs::write(work.join(&name), text).unwrap();
    }
    if !has_terraform_block {
        std::fs::write(work.join("versions.tf"), TERRAFORM_BLOCK).unwrap();
    }
    ws.init()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let out = ws.run(&["validate", "-no-color"]).unwrap();
    assert_eq!(
        out.code,
        0,
        "{} is invalid:\n{}\n{}",
        dir.display(),
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("The configuration is valid"),
        "{}",
        out.stdout
    );
}

#[test]
fn every_example_validates() {
    let examples = workspace_root().join("examples");
    let mut dirs = vec![
        examples.join("provider"),
        examples.join("quickstart"),
        examples.join("cloudhsm-onboarding"),
    ];
    for kind in ["resources", "data-sources"] {
        let mut typed: Vec<_> = std::fs::read_dir(examples.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        typed.sort();
        dirs.extend(typed);
    }
    assert_eq!(dirs.len(), 8, "{dirs:?}");
    for dir in dirs {
        validate(&dir);
    }
}
