//! The example provider's identity, list resource and generated
//! configuration driven by a real Terraform 1.15.5: an `import` block by
//! identity, `terraform query`, and `-generate-config-out`.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use tfplug::testing::Workspace;

#[path = "common/terraform.rs"]
mod terraform;
use terraform::{provider_block, workspace_on_1_15_5};

const QUERY: &str = r#"
list "localfile_file" "txt" {
  provider = localfile
  config {
    suffix = ".txt"
  }
}
"#;

/// The identity Terraform stored for `localfile_file.NAME`.
fn stored_identity(ws: &Workspace, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let resource = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the state:\n{text}"))
        .clone();
    resource["instances"][0]["identity"].clone()
}

#[test]
fn import_block_by_identity() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "ay").unwrap();
    let ws = workspace_on_1_15_5();
    let config = format!(
        "{}\nimport {{\n  to       = localfile_file.a\n  identity = {{ path = \"a.txt\" }}\n}}\n\
         resource \"localfile_file\" \"a\" {{\n  path    = \"a.txt\"\n  content = \"ay\"\n}}\n",
        provider_block(root.path())
    );
    ws.write_config(&config).unwrap();
    ws.init().unwrap();
    let (_, plan) = ws.plan().unwrap();
    assert!(plan.stdout.contains("1 to import"), "{}", plan.stdout);
    ws.apply().unwrap();
    assert_eq!(
        stored_identity(&ws, "a"),
        serde_json::json!({ "path": "a.txt" })
    );
    assert_eq!(
        ws.resource_values("localfile_file.a").unwrap().unwrap()["size"],
        2
    );
}

#[test]
fn query_lists_and_generates_configuration() {
    let root = tempfile::tempdir().unwrap();
    for (name, content) in [("a.txt", "ay"), ("b.txt", "bee"), ("c.log", "sea")] {
        std::fs::write(root.path().join(name), content).unwrap();
    }
    let ws = workspace_on_1_15_5();
    ws.write_config(&provider_block(root.path())).unwrap();
    std::fs::write(ws.work_dir().join("files.tfquery.hcl"), QUERY).unwrap();
    ws.init().unwrap();

    let listed = ws.run_ok(&["query", "-no-color"]).unwrap();
    let lines: Vec<&str> = listed
        .stdout
        .lines()
        .filter(|l| l.starts_with("list.localfile_file.txt"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", listed.stdout);
    assert!(lines[0].contains("path=a.txt"), "{}", listed.stdout);
    assert!(lines[1].contains("path=b.txt"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("c.log"), "{}", listed.stdout);

    ws.run_ok(&["query", "-no-color", "-generate-config-out=generated.tf"])
        .unwrap();
    let generated = std::fs::read_to_string(ws.work_dir().join("generated.tf")).unwrap();
    assert!(
        generated.contains("resource \"localfile_file\""),
        "{generated}"
    );
    // Whitespace aside: the resource block keeps the content, the import block names the path.
    let flat = generated.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("content = \"bee\""), "{generated}");
    assert!(
        flat.contains("identity = { path = \"b.txt\" }"),
        "{generated}"
    );
    // Computed-only attributes are not configuration.
    assert!(!generated.contains("size"), "{generated}");
}
