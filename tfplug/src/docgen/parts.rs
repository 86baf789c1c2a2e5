//! What every page is built from, and how rendering fails: the error,
//! the example files of a page, its `## Example Usage` section, and the
//! labels of types.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Why the documentation could not be rendered, written or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocsError {
    /// An example file could not be read.
    #[error("cannot read example {path}: {source}")]
    Example {
        /// The example file under `examples/` that could not be read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A schema or type is missing or malformed in the provider's answer.
    #[error("the provider's schema is unusable: {0}")]
    Schema(String),
    /// A page could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The page under the docs directory that could not be written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A check found pages that differ from what the schema renders.
    #[error("the docs are stale: {} differ from the schema and examples ({}); run {command} and commit the result", .pages.len(), .pages.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Stale {
        /// The pages that differ, are missing, or are generated but no
        /// longer rendered.
        pages: Vec<PathBuf>,
        /// The command that regenerates them.
        command: String,
    },
}

/// The example of an `import` block by identity, shown under `## Import`
/// rather than with the usage examples.
pub(super) const IMPORT_BY_IDENTITY: &str = "import-by-identity.tf";

pub(super) fn read(path: &Path) -> Result<Option<String>, DocsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(DocsError::Example {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The `.tf` files of an example directory: `first` (if present), then the rest by name.
pub(super) fn example_files(dir: &Path, first: &str) -> Result<Vec<String>, DocsError> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".tf") && n != first && n != IMPORT_BY_IDENTITY)
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(DocsError::Example {
                path: dir.to_owned(),
                source,
            })
        }
    };
    names.sort();
    names.insert(0, first.to_owned());
    let mut texts = Vec::new();
    for name in names {
        if let Some(text) = read(&dir.join(name))? {
            texts.push(text);
        }
    }
    Ok(texts)
}

pub(super) fn examples_section(out: &mut String, examples: &[String]) {
    if examples.is_empty() {
        return;
    }
    out.push_str("## Example Usage\n\n");
    for example in examples {
        let _ = writeln!(out, "```terraform\n{}\n```\n", example.trim_end());
    }
}

/// `String`, `List of Number`, `Map of String`, `List of Object`...
pub(super) fn type_label(ty: &serde_json::Value) -> String {
    let capitalised = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    };
    match ty {
        serde_json::Value::String(s) if s == "bool" => "Boolean".into(),
        serde_json::Value::String(s) => capitalised(s),
        serde_json::Value::Array(parts) => match parts.as_slice() {
            [kind, _] if kind == "object" => "Object".into(),
            [kind, element] => format!(
                "{} of {}",
                capitalised(kind.as_str().unwrap_or("?")),
                type_label(element)
            ),
            _ => "Dynamic".into(),
        },
        _ => "Dynamic".into(),
    }
}
