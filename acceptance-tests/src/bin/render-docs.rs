//! `render-docs [--check]`: renders `docs/` from the schemas the built
//! `terraform-provider-primus` serves (asked over the plugin protocol, as
//! Terraform asks) and `examples/`. With `--check` it writes nothing and
//! fails when a page differs. Run it through `scripts/docs.sh`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use acceptance_tests::{provider_schema, workspace_root};
use terraform_provider_primus::ADDRESS;
use tfplug::docs::Docs;

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            eprintln!("unknown argument {other:?}; usage: render-docs [--check]");
            return ExitCode::from(2);
        }
    };
    match run(check) {
        Ok(paths) => {
            let verb = if check { "up to date" } else { "written" };
            for path in paths {
                println!("{verb}: {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("render-docs: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(check: bool) -> Result<Vec<std::path::PathBuf>, String> {
    // The provider binary is built beside this one (target/<profile>/).
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    let binary = exe.with_file_name("terraform-provider-primus");
    if !binary.is_file() {
        return Err(format!(
            "{} is not built; run scripts/docs.sh",
            binary.display()
        ));
    }
    let schemas = provider_schema(&binary)?;
    let root = workspace_root();
    let generator = Docs::new(ADDRESS, "scripts/docs.sh");
    let pages = generator
        .render(&schemas, &root.join("examples"))
        .map_err(|e| e.to_string())?;
    let docs = root.join("docs");
    if check {
        generator.check(&pages, &docs)
    } else {
        generator.write(&pages, &docs)
    }
    .map_err(|e| e.to_string())
}
