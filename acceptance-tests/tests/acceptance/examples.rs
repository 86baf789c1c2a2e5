//! Every example under `examples/` is valid against the provider's schema:
//! `terraform init` and `terraform validate` with each real Terraform.

use std::path::Path;

use acceptance_tests::{workspace_root, Terraform, TERRAFORM_BLOCK};
use tfplug::testing::target_binary;

/// Example files only newer Terraform validates: write-only attributes
/// (1.11+), which the provider refuses on older clients (tested in
/// failures::write_only_passwords_are_refused_by_terraform_1_0), and
/// `import` blocks by identity (1.12+). The quickstart and fleet-onboarding
/// use write-only attributes too and say so in `required_version`.
const NEEDS_NEWER_TERRAFORM: [&str; 2] = ["resource-write-only.tf", "import-by-identity.tf"];

fn validate(tf: Terraform, dir: &Path) {
    // Validation does not configure the provider, so no simulator is needed.
    let ws = tf.workspace(&target_binary("terraform-provider-primus").unwrap());
    let work = ws.work_dir();
    let mut has_terraform_block = false;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".tf")
            || (tf == Terraform::V1_0_3 && NEEDS_NEWER_TERRAFORM.contains(&name.as_str()))
        {
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

fn every_example_validates(tf: Terraform) {
    let examples = workspace_root().join("examples");
    let mut dirs = vec![
        examples.join("provider"),
        examples.join("cloudhsm-onboarding"),
    ];
    if tf != Terraform::V1_0_3 {
        dirs.push(examples.join("quickstart"));
        dirs.push(examples.join("fleet-onboarding"));
    }
    // Functions and actions need Terraform 1.8 and 1.14.
    let kinds: &[&str] = if tf == Terraform::V1_0_3 {
        &["resources", "data-sources"]
    } else {
        &["resources", "data-sources", "functions", "actions"]
    };
    for kind in kinds {
        let mut typed: Vec<_> = std::fs::read_dir(examples.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        typed.sort();
        dirs.extend(typed);
    }
    let expected = if tf == Terraform::V1_0_3 { 8 } else { 12 };
    assert_eq!(dirs.len(), expected, "{dirs:?}");
    for dir in dirs {
        validate(tf, &dir);
    }
}

acceptance_tests::on_every_terraform!(every_example_validates,);
