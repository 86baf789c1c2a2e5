//! The page of a provider-defined function: its summary and description,
//! examples, signature and arguments, as tfplugindocs lays it out.

use std::fmt::Write as _;
use std::path::Path;

use super::parts::{example_files, examples_section, type_label, DocsError};
use crate::proto::tfplugin6::{function, Function};

/// The docs (and examples) subdirectory of functions.
pub(super) const DIR: &str = "functions";

/// Everything of a function's page below its header: description,
/// examples, signature and arguments.
pub(super) fn body(
    out: &mut String,
    name: &str,
    function: &Function,
    examples: &Path,
) -> Result<(), DocsError> {
    if !function.description.is_empty() {
        let _ = writeln!(out, "{}\n", function.description.trim_end());
    }
    examples_section(out, &example_files(examples, "function.tf")?);
    let parameters: Vec<Parameter> = function
        .parameters
        .iter()
        .map(|p| Parameter::of(p, false))
        .chain(
            function
                .variadic_parameter
                .iter()
                .map(|p| Parameter::of(p, true)),
        )
        .collect::<Result<_, _>>()?;
    let returns = function
        .r#return
        .as_ref()
        .ok_or_else(|| DocsError::Schema(format!("function {name} has no return type")))?;
    let signature: Vec<String> = parameters.iter().map(Parameter::signature).collect();
    let _ = writeln!(
        out,
        "## Signature\n\n```text\n{name}({}) {}\n```\n",
        signature.join(", "),
        hcl_type(&json_type(&returns.r#type, name)?)
    );
    if !parameters.is_empty() {
        out.push_str("## Arguments\n\n");
        for (i, p) in parameters.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, p.line());
        }
    }
    Ok(())
}

struct Parameter<'a> {
    declared: &'a function::Parameter,
    ty: serde_json::Value,
    variadic: bool,
}

impl<'a> Parameter<'a> {
    fn of(declared: &'a function::Parameter, variadic: bool) -> Result<Parameter<'a>, DocsError> {
        Ok(Parameter {
            ty: json_type(&declared.r#type, &declared.name)?,
            declared,
            variadic,
        })
    }

    /// `name type`, or `name ...type` for the variadic parameter.
    fn signature(&self) -> String {
        let dots = if self.variadic { "..." } else { "" };
        format!("{} {dots}{}", self.declared.name, hcl_type(&self.ty))
    }

    /// `` `name` (String, Nullable) Description``.
    fn line(&self) -> String {
        let mut traits = vec![type_label(&self.ty)];
        if self.declared.allow_null_value {
            traits.push("Nullable".to_owned());
        }
        if self.variadic {
            traits.push("Variadic".to_owned());
        }
        format!(
            "`{}` ({}) {}",
            self.declared.name,
            traits.join(", "),
            self.declared.description
        )
        .trim_end()
        .to_owned()
    }
}

fn json_type(bytes: &[u8], owner: &str) -> Result<serde_json::Value, DocsError> {
    serde_json::from_slice(bytes)
        .map_err(|e| DocsError::Schema(format!("{owner}: type is not JSON: {e}")))
}

/// A type as written in HCL: `string`, `list(number)`, `object({a=string})`.
fn hcl_type(ty: &serde_json::Value) -> String {
    match ty {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => match parts.as_slice() {
            [kind, serde_json::Value::Object(attributes)] if kind == "object" => {
                let fields: Vec<String> = attributes
                    .iter()
                    .map(|(name, t)| format!("{name}={}", hcl_type(t)))
                    .collect();
                format!("object({{{}}})", fields.join(", "))
            }
            [kind, element] => format!("{}({})", kind.as_str().unwrap_or("?"), hcl_type(element)),
            _ => "dynamic".to_owned(),
        },
        _ => "dynamic".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::Type;
    use crate::docgen::Docs;
    use crate::functions::{FunctionDefinition, Parameter as Declared};
    use crate::proto::tfplugin6::get_provider_schema;
    use crate::schema::Schema;

    #[test]
    fn function_page_has_signature_arguments_and_example() {
        let join = FunctionDefinition::returns(Type::String)
            .summary("Joins strings")
            .markdown_description("Joins `parts` with `separator`.")
            .parameter(
                Declared::new("separator", Type::String).markdown_description("Put between parts."),
            )
            .variadic(Declared::new("parts", Type::list(Type::String)).allow_null());
        let examples = tempfile::tempdir().unwrap();
        let dir = examples.path().join("functions/join");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("function.tf"),
            "output \"x\" { value = provider::acme::join(\",\", [\"a\"]) }\n",
        )
        .unwrap();
        let schemas = get_provider_schema::Response {
            provider: Some(Schema::new().to_proto()),
            functions: [("join".to_owned(), join.to_proto())].into(),
            ..Default::default()
        };
        let docs = Docs::new("registry.terraform.io/acme/acme", "make docs");
        let pages = docs.render(&schemas, examples.path()).unwrap();
        let page = pages
            .iter()
            .find(|p| p.path == Path::new("functions/join.md"))
            .unwrap();
        for expected in [
            "page_title: \"join function - terraform-provider-acme\"",
            "# function: join",
            "Joins `parts` with `separator`.",
            "provider::acme::join(",
            "join(separator string, parts ...list(string)) string",
            "1. `separator` (String) Put between parts.",
            "2. `parts` (List of String, Nullable, Variadic)",
        ] {
            assert!(
                page.text.contains(expected),
                "missing {expected:?}:\n{}",
                page.text
            );
        }
        // A generated function page no schema renders any more is stale.
        let out = tempfile::tempdir().unwrap();
        docs.write(&pages, out.path()).unwrap();
        std::fs::write(out.path().join("functions/gone.md"), &page.text).unwrap();
        let stale = docs.check(&pages, out.path()).unwrap_err();
        assert!(stale.to_string().contains("functions/gone.md"), "{stale}");
    }
}
