//! `scripts/install-provider.sh --mirror`: the layout Terraform expects,
//! a CLI config naming it, and a real `terraform init` that installs both
//! primus and hashicorp/null from that mirror alone.

use std::process::Command;

use acceptance_tests::{workspace_root, Terraform, VERSION};
use tfplug::testing::target_binary;

fn install_provider_script_fills_a_mirror_terraform_init_uses(tf: Terraform) {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    let binary = target_binary("terraform-provider-primus").unwrap();
    let out = Command::new(workspace_root().join("scripts/install-provider.sh"))
        .args([
            "--mirror",
            &mirror.display().to_string(),
            "--binary",
            &binary.display().to_string(),
            "--with-null",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli_config = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(cli_config, mirror.join("terraformrc").display().to_string());
    let installed = mirror.join(format!("registry.terraform.io/primus-iac/primus/{VERSION}/linux_amd64/terraform-provider-primus_v{VERSION}"));
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&binary).unwrap()
    );
    assert!(mirror.join("registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4").is_file());

    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("main.tf"),
        r#"
terraform {
  required_providers {
    primus = { source = "primus-iac/primus", version = "~> 0.1" }
    null   = { source = "hashicorp/null", version = "2.1.2" }
  }
}
"#,
    )
    .unwrap();
    let init = Command::new(tf.binary())
        .args(["init", "-no-color", "-input=false"])
        .current_dir(&work)
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&init.stdout);
    assert!(
        init.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(
        stdout.contains(&format!("Installed primus-iac/primus v{VERSION}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Installed hashicorp/null v2.1.2"),
        "{stdout}"
    );
}

acceptance_tests::on_every_terraform!(install_provider_script_fills_a_mirror_terraform_init_uses,);
