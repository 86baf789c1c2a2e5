//! The example provider driven by a real Terraform 1.0.3 through init,
//! validate, plan, apply, an empty second plan, refresh, import, update,
//! replace and destroy: once started by Terraform (AutoMTLS), once attached
//! through TF_REATTACH_PROVIDERS (debug mode).

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tfplug::testing::{DebugProvider, Workspace};

#[path = "common/terraform.rs"]
mod terraform;
use terraform::{example, provider_block, workspace_on_1_15_5};

fn config(root: &Path, path: &str, content: &str, extra: &str) -> String {
    format!(
        r#"{provider}
resource "localfile_file" "a" {{
  path    = "{path}"
  content = "{content}"
  {extra}
}}
data "localfile_file" "back" {{
  path = localfile_file.a.path
}}
output "read_back" {{
  value = data.localfile_file.back.content
}}
"#,
        provider = provider_block(root)
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn lifecycle(ws: &Workspace) {
    let root = tempfile::tempdir().unwrap();
    let a = root.path().join("a.txt");
    let b = root.path().join("b.txt");

    ws.write_config(&config(root.path(), "a.txt", "one", ""))
        .unwrap();
    ws.init().unwrap();
    let validated = ws.run_ok(&["validate", "-no-color"]).unwrap();
    assert!(
        validated.stdout.contains("The configuration is valid"),
        "{}",
        validated.stdout
    );

    let (empty, plan) = ws.plan().unwrap();
    assert!(!empty, "first plan must create: {}", plan.stdout);
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("id          = (known after apply)"),
        "{}",
        plan.stdout
    );

    let applied = ws.apply().unwrap();
    assert!(
        applied.stdout.contains("read_back = \"one\""),
        "{}",
        applied.stdout
    );
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "one");
    assert_eq!(mode(&a), 0o644);
    let values = ws.resource_values("localfile_file.a").unwrap().unwrap();
    assert_eq!(values["size"], 3);
    assert_eq!(values["id"], "a.txt");
    assert_eq!(values["permissions"], "0644");

    let (empty, plan) = ws.plan().unwrap();
    assert!(empty, "second plan must be empty: {}", plan.stdout);

    // Refresh picks up a change made outside Terraform; the next apply undoes it.
    std::fs::write(&a, "drift").unwrap();
    ws.run_ok(&["refresh", "-no-color", "-input=false"])
        .unwrap();
    assert_eq!(
        ws.resource_values("localfile_file.a").unwrap().unwrap()["content"],
        "drift"
    );
    let (empty, plan) = ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("update in-place"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "one");

    // Import: forget the resource, import it by path, and find nothing to do.
    ws.run_ok(&["state", "rm", "localfile_file.a"]).unwrap();
    assert!(ws.resource_values("localfile_file.a").unwrap().is_none());
    let imported = ws
        .run_ok(&[
            "import",
            "-no-color",
            "-input=false",
            "localfile_file.a",
            "a.txt",
        ])
        .unwrap();
    assert!(
        imported.stdout.contains("Import successful"),
        "{}",
        imported.stdout
    );
    let values = ws.resource_values("localfile_file.a").unwrap().unwrap();
    assert_eq!(values["content"], "one");
    assert_eq!(values["size"], 3);
    let (empty, plan) = ws.plan().unwrap();
    assert!(empty, "plan after import must be empty: {}", plan.stdout);

    // Update in place.
    ws.write_config(&config(
        root.path(),
        "a.txt",
        "two!",
        r#"permissions = "0600""#,
    ))
    .unwrap();
    let (empty, plan) = ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("1 to change"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("id          = \"a.txt\""),
        "id keeps its state value: {}",
        plan.stdout
    );
    ws.apply().unwrap();
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "two!");
    assert_eq!(mode(&a), 0o600);
    assert_eq!(
        ws.resource_values("localfile_file.a").unwrap().unwrap()["size"],
        4
    );
    assert!(ws.plan().unwrap().0, "plan after update must be empty");

    // Replace: a new path forces a new file.
    ws.write_config(&config(
        root.path(),
        "b.txt",
        "two!",
        r#"permissions = "0600""#,
    ))
    .unwrap();
    let (_, plan) = ws.plan().unwrap();
    assert!(
        plan.stdout.contains("must be replaced") && plan.stdout.contains("# forces replacement"),
        "{}",
        plan.stdout
    );
    ws.apply().unwrap();
    assert!(!a.exists(), "old file must be gone");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "two!");
    assert!(ws.plan().unwrap().0, "plan after replace must be empty");

    ws.destroy().unwrap();
    assert!(!b.exists(), "destroy must delete the file");
    assert!(ws.resource_values("localfile_file.a").unwrap().is_none());
}

#[test]
fn lifecycle_with_automtls() {
    let ws = Workspace::new(&example(), "tfplug/localfile", "0.1.0").unwrap();
    lifecycle(&ws);

    // Terraform 1.0.3 cannot keep write-only values out of the state, so
    // the framework refuses them with a clear diagnostic at validation.
    let root = tempfile::tempdir().unwrap();
    let config =
        config(root.path(), "c.txt", "", r#"content_wo = "s3cret""#).replace("content = \"\"", "");
    ws.write_config(&config).unwrap();
    let out = ws.run(&["validate", "-no-color"]).unwrap();
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("Write-Only Attribute Not Supported"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Terraform 1.11 or later"),
        "{}",
        out.stderr
    );
    assert!(!root.path().join("c.txt").exists());
}

#[test]
fn lifecycle_with_reattach() {
    let provider = DebugProvider::start(&example()).unwrap();
    let reattach: serde_json::Value = serde_json::from_str(provider.reattach()).unwrap();
    let entry = &reattach["registry.terraform.io/tfplug/localfile"];
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Pid"], provider.pid());

    // The mirror holds a binary that cannot serve, so every operation that
    // works must have gone to the attached debug process.
    let mut ws = Workspace::new(Path::new("/bin/false"), "tfplug/localfile", "0.1.0").unwrap();
    ws.set_env("TF_REATTACH_PROVIDERS", provider.reattach());
    lifecycle(&ws);
}

/// Terraform 1.15.5: a provider function called from configuration, and
/// an action invoked with `terraform apply -invoke`.
fn functions_and_actions_config(root: &Path, mode: &str) -> String {
    format!(
        r#"{provider}
output "bits" {{
  value = provider::localfile::mode_bits("{mode}")
}}
action "localfile_append" "note" {{
  config {{
    path = "notes.txt"
    line = "invoked"
  }}
}}
"#,
        provider = provider_block(root)
    )
}

#[test]
fn function_and_action_on_terraform_1_15() {
    let root = tempfile::tempdir().unwrap();
    let notes = root.path().join("notes.txt");
    let ws = workspace_on_1_15_5();
    ws.write_config(&functions_and_actions_config(root.path(), "0640"))
        .unwrap();
    ws.init().unwrap();

    // A plain apply computes the function and leaves the action alone.
    let applied = ws.apply().unwrap();
    assert!(applied.stdout.contains("bits = 416"), "{}", applied.stdout);
    assert!(!notes.exists(), "the action ran without -invoke");

    // Invoked on demand, twice: each run appends once and shows progress.
    for runs in 1..=2 {
        let invoked = ws
            .run_ok(&[
                "apply",
                "-no-color",
                "-input=false",
                "-auto-approve",
                "-invoke=action.localfile_append.note",
            ])
            .unwrap();
        assert!(
            invoked.stdout.contains("appending to"),
            "no progress message: {}",
            invoked.stdout
        );
        assert_eq!(
            std::fs::read_to_string(&notes).unwrap(),
            "invoked\n".repeat(runs)
        );
    }

    // A bad argument fails the plan at the call.
    ws.write_config(&functions_and_actions_config(root.path(), "0999"))
        .unwrap();
    let failed = ws.run(&["plan", "-no-color", "-input=false"]).unwrap();
    assert_ne!(failed.code, 0);
    // The argument index in the function error makes Terraform name the parameter.
    assert!(
        failed
            .stderr
            .contains("Invalid value for \"permissions\" parameter: \"0999\" is not an octal mode"),
        "{}",
        failed.stderr
    );
}
