//! Terraform's plan and apply rules, applied by the framework so provider
//! authors do not have to:
//! - configured values are planned as configured and kept at apply;
//! - defaults fill null optional+computed attributes;
//! - computed attributes the configuration leaves null are unknown on
//!   create and whenever the object changes, else keep their prior value;
//! - write-only attributes never reach plan or state (when the client
//!   supports it);
//! - values known in the plan do not change at apply.

use crate::cty::Value;
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::{Attribute, AttributeType, Block, Nesting, WriteOnlyFallback};

fn child(path: &Option<AttributePath>, name: &str) -> AttributePath {
    match path {
        Some(p) => p.clone().attr(name),
        None => AttributePath::root(name),
    }
}

/// The nested structures of a block: nested blocks and nested attributes,
/// each as (name, nesting, the block of its objects).
fn nested(block: &Block) -> Vec<(&str, Nesting, Block)> {
    let attributes = block.attributes.iter().filter_map(|a| match &a.ty {
        AttributeType::Nested(n, attrs) => Some((a.name.as_str(), *n, Block::of_attributes(attrs))),
        AttributeType::Plain(_) => None,
    });
    let blocks = block
        .blocks
        .iter()
        .map(|b| (b.name.as_str(), b.nesting, b.block.clone()));
    attributes.chain(blocks).collect()
}

/// The nested objects of a single or list nesting, with their index.
fn elements(nesting: Nesting, v: &Value) -> Vec<(Option<i64>, &Value)> {
    match (nesting, v) {
        (Nesting::Single, Value::Object(_)) => vec![(None, v)],
        (Nesting::List, Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Some(i as i64), v))
            .collect(),
        _ => Vec::new(),
    }
}

fn element_path(path: AttributePath, index: Option<i64>) -> AttributePath {
    match index {
        Some(i) => path.index(i),
        None => path,
    }
}

/// Runs the declarative checks: validators, and write-only attributes an
/// older client cannot keep out of the state.
pub(crate) fn validate(
    block: &Block,
    config: &Value,
    path: Option<AttributePath>,
    write_only_allowed: bool,
    diags: &mut Diagnostics,
) {
    for a in &block.attributes {
        let v = config.attr(&a.name);
        let p = child(&path, &a.name);
        if a.write_only == Some(WriteOnlyFallback::Reject) && !write_only_allowed && !v.is_null() {
            diags.push(
                Diagnostic::error(
                    "Write-Only Attribute Not Supported",
                    format!(
                        "{p} is write-only: its value must never be stored in the state, and this Terraform \
                         version cannot guarantee that. Use Terraform 1.11 or later, or remove {p} from the \
                         configuration."
                    ),
                )
                .at(p.clone()),
            );
        }
        if !v.is_null() && !v.is_unknown() {
            run_validators(a, v, &p, diags);
        }
    }
    for (name, nesting, inner) in nested(block) {
        let p = child(&path, name);
        for (i, e) in elements(nesting, config.attr(name)) {
            validate(
                &inner,
                e,
                Some(element_path(p.clone(), i)),
                write_only_allowed,
                diags,
            );
        }
    }
}

fn set_attr(v: &mut Value, name: &str, new: Value) {
    if let Value::Object(m) = v {
        m.insert(name.to_owned(), new);
    }
}

/// Nulls the write-only attributes of `v` (recursively), when the client
/// keeps them out of the state.
pub(crate) fn null_write_only(block: &Block, v: &mut Value) {
    let Value::Object(m) = v else { return };
    for a in &block.attributes {
        if a.write_only.is_some() {
            m.insert(a.name.clone(), Value::Null);
        }
    }
    for (name, _, inner) in nested(block) {
        match m.get_mut(name) {
            Some(o @ Value::Object(_)) => null_write_only(&inner, o),
            Some(Value::List(items) | Value::Set(items)) => {
                items.iter_mut().for_each(|o| null_write_only(&inner, o))
            }
            Some(Value::Map(items)) => items.values_mut().for_each(|o| null_write_only(&inner, o)),
            _ => {}
        }
    }
}

/// The framework's plan for a create or update. Returns the planned value
/// and the attributes whose change forces replacement.
pub(crate) fn plan(
    block: &Block,
    prior: &Value,
    proposed: &Value,
    config: &Value,
    write_only_allowed: bool,
) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed.clone();
    if write_only_allowed {
        null_write_only(block, &mut planned);
    }
    apply_defaults(block, config, &mut planned);
    let changing = prior.is_null() || planned != *prior;
    if changing {
        mark_unknown(block, config, prior, &mut planned);
    }
    let mut replace = Vec::new();
    if !prior.is_null() {
        requires_replace(block, config, prior, &planned, None, &mut replace);
    }
    (planned, replace)
}

fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    for a in &block.attributes {
        if let Some(d) = &a.default {
            if config.attr(&a.name).is_null() {
                set_attr(planned, &a.name, d.clone());
            }
        }
    }
}

fn mark_unknown(block: &Block, config: &Value, prior: &Value, planned: &mut Value) {
    for a in &block.attributes {
        if !a.mode.is_computed() || a.default.is_some() || !config.attr(&a.name).is_null() {
            continue;
        }
        let keep = a.use_state_for_unknown && !prior.attr(&a.name).is_null();
        let v = if keep {
            prior.attr(&a.name).clone()
        } else {
            Value::Unknown
        };
        set_attr(planned, &a.name, v);
    }
    for (name, nesting, inner) in nested(block) {
        let Value::Object(pm) = &mut *planned else {
            return;
        };
        let Some(value) = pm.get_mut(name) else {
            continue;
        };
        match (nesting, value) {
            (Nesting::Single, o @ Value::Object(_)) => {
                mark_unknown(&inner, config.attr(name), prior.attr(name), o)
            }
            (Nesting::List, Value::List(items)) => {
                let nth = |v: &Value, i: usize| match v {
                    Value::List(l) => l.get(i).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                for (i, o) in items.iter_mut().enumerate() {
                    mark_unknown(
                        &inner,
                        &nth(config.attr(name), i),
                        &nth(prior.attr(name), i),
                        o,
                    );
                }
            }
            // Set and map elements have no stable position to pair config
            // and prior by; their computed parts stay as Terraform proposed.
            _ => {}
        }
    }
}

fn requires_replace(
    block: &Block,
    config: &Value,
    prior: &Value,
    planned: &Value,
    path: Option<AttributePath>,
    out: &mut Vec<AttributePath>,
) {
    for a in block.attributes.iter().filter(|a| a.requires_replace) {
        // A computed attribute the configuration leaves alone changes only
        // because the provider will compute it; that is not a reason to replace.
        if a.mode.is_computed() && config.attr(&a.name).is_null() {
            continue;
        }
        if planned.attr(&a.name) != prior.attr(&a.name) {
            out.push(child(&path, &a.name));
        }
    }
    for (name, nesting, inner) in nested(block) {
        if nesting == Nesting::Single {
            let p = Some(child(&path, name));
            requires_replace(
                &inner,
                config.attr(name),
                prior.attr(name),
                planned.attr(name),
                p,
                out,
            );
        }
    }
}

/// Checks that `plan` (after the provider's plan modifier) still carries
/// the configured values, restoring them and reporting the provider bug.
pub(crate) fn keep_config(
    block: &Block,
    config: &Value,
    planned: &mut Value,
    diags: &mut Diagnostics,
) {
    for a in &block.attributes {
        let c = config.attr(&a.name);
        let configured = !a.mode.is_computed() || !c.is_null();
        if configured && a.write_only.is_none() && planned.attr(&a.name) != c {
            diags.warning(
                "Provider Changed A Configured Value",
                format!(
                    "The plan modifier changed {}; the framework kept the configured value.",
                    a.name
                ),
            );
            set_attr(planned, &a.name, c.clone());
        }
    }
}

/// Makes the applied state consistent with the plan: configured values are
/// taken from the plan; a computed value the plan knew must not change; no
/// value may stay unknown. Write-only attributes are as planned.
pub(crate) fn finish_apply(
    block: &Block,
    planned: &Value,
    new: &mut Value,
    diags: &mut Diagnostics,
) {
    for a in &block.attributes {
        finish_attribute(a, planned, new, diags);
    }
    for b in &block.blocks {
        let (p, n) = (planned.attr(&b.name), new.attr(&b.name));
        if !n.is_wholly_known() {
            diags.push(unknown_after_apply(&b.name));
        }
        if p.is_wholly_known() && p != n {
            set_attr(new, &b.name, p.clone());
        }
    }
}

fn finish_attribute(a: &Attribute, planned: &Value, new: &mut Value, diags: &mut Diagnostics) {
    let p = planned.attr(&a.name);
    let n = new.attr(&a.name);
    if a.write_only.is_some() || !a.mode.is_computed() {
        if p != n {
            set_attr(new, &a.name, p.clone());
        }
        return;
    }
    if !n.is_wholly_known() {
        diags.push(unknown_after_apply(&a.name));
    } else if p.is_wholly_known() && p != n {
        diags.push(
            Diagnostic::error(
                "Provider Changed A Planned Value",
                format!(
                    "The provider planned {} as {} but set it to {} when applying. This is a provider bug; \
                     plan it as unknown (e.g. drop use_state_for_unknown) or keep the value.",
                    a.name,
                    shown(a, p),
                    shown(a, n),
                ),
            )
            .at(AttributePath::root(&a.name)),
        );
    }
}

/// A value as a diagnostic may show it: a sensitive (or write-only)
/// attribute's value never, others as Terraform would write them.
fn shown(a: &Attribute, v: &Value) -> String {
    if a.hides_value() {
        return "(sensitive value)".to_owned();
    }
    match v {
        Value::String(s) => format!("{:?}", s.as_str()),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.kind().to_owned(),
    }
}

/// Runs an attribute's validators; for a sensitive or write-only attribute every text
/// they produce is scrubbed of the value, whatever the validator wrote.
fn run_validators(a: &Attribute, v: &Value, p: &AttributePath, diags: &mut Diagnostics) {
    let mut found = Diagnostics::new();
    for validator in &a.validators {
        validator.validate(v, p, &mut found);
    }
    for mut d in found.into_iter() {
        if a.hides_value() {
            let secret = match v {
                Value::String(s) => Some(s.as_str().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            if let Some(secret) = secret.filter(|s| !s.is_empty()) {
                for text in [&mut d.summary, &mut d.detail] {
                    *text = text
                        .replace(&format!("{secret:?}"), "(sensitive value)")
                        .replace(&secret, "(sensitive value)");
                }
            }
        }
        diags.push(d);
    }
}

fn unknown_after_apply(name: &str) -> Diagnostic {
    Diagnostic::error(
        "Value Unknown After Apply",
        format!("The provider left {name} unknown after apply. This is a provider bug; set it in create/update."),
    )
    .at(AttributePath::root(name))
}

/// Copies the write-only attributes of `from` into `to` (read and import
/// must leave them as Terraform has them).
pub(crate) fn copy_write_only(block: &Block, from: &Value, to: &mut Value) {
    for a in block.attributes.iter().filter(|a| a.write_only.is_some()) {
        set_attr(to, &a.name, from.attr(&a.name).clone());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cty::Type;
    use crate::schema::{Attribute, Schema};

    fn schema() -> Schema {
        Schema::new()
            .attribute(Attribute::required("name", Type::String).requires_replace())
            .attribute(Attribute::optional("mode", Type::String).default("a"))
            .attribute(
                Attribute::optional("secret", Type::String).write_only(WriteOnlyFallback::Reject),
            )
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("etag", Type::String))
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = ["name", "mode", "secret", "id", "etag"]
            .iter()
            .map(|k| (k.to_string(), Value::Null))
            .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    #[test]
    fn create_plans_defaults_and_unknown_computed_values() {
        let s = schema();
        let config = obj(&[("name", "x".into()), ("secret", "pw".into())]);
        let (planned, replace) = plan(&s.block, &Value::Null, &config, &config, true);
        assert_eq!(planned.attr("mode"), &Value::from("a"));
        assert!(planned.attr("id").is_unknown() && planned.attr("etag").is_unknown());
        assert!(planned.attr("secret").is_null(), "write-only never planned");
        assert!(replace.is_empty());
    }

    #[test]
    fn no_change_keeps_every_prior_value() {
        let s = schema();
        let prior = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("id", "1".into()),
            ("etag", "e1".into()),
        ]);
        let config = obj(&[("name", "x".into()), ("secret", "pw".into())]);
        // Terraform proposes config values plus prior computed values.
        let proposed = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("secret", "pw".into()),
            ("id", "1".into()),
            ("etag", "e1".into()),
        ]);
        let (planned, _) = plan(&s.block, &prior, &proposed, &config, true);
        assert_eq!(planned, prior);
    }

    #[test]
    fn change_marks_computed_unknown_except_use_state_and_flags_replacement() {
        let s = schema();
        let prior = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("id", "1".into()),
            ("etag", "e1".into()),
        ]);
        let config = obj(&[("name", "y".into()), ("mode", "b".into())]);
        let proposed = obj(&[
            ("name", "y".into()),
            ("mode", "b".into()),
            ("id", "1".into()),
            ("etag", "e1".into()),
        ]);
        let (planned, replace) = plan(&s.block, &prior, &proposed, &config, true);
        assert_eq!(planned.attr("id"), &Value::from("1"));
        assert!(planned.attr("etag").is_unknown());
        assert_eq!(replace, vec![AttributePath::root("name")]);
    }

    #[test]
    fn apply_keeps_configured_values_and_refuses_changed_known_ones() {
        let s = schema();
        let planned = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("id", "1".into()),
            ("etag", Value::Unknown),
        ]);
        let mut new = obj(&[
            ("name", "X".into()),
            ("mode", "a".into()),
            ("id", "1".into()),
            ("etag", "e2".into()),
        ]);
        let mut diags = Diagnostics::new();
        finish_apply(&s.block, &planned, &mut new, &mut diags);
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(
            new.attr("name"),
            &Value::from("x"),
            "configured value restored"
        );

        let mut changed_id = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("id", "2".into()),
            ("etag", "e2".into()),
        ]);
        finish_apply(&s.block, &planned, &mut changed_id, &mut diags);
        assert!(diags.has_errors());
        assert!(diags.to_string().contains("id"), "{diags}");

        let mut diags = Diagnostics::new();
        let mut still_unknown = obj(&[
            ("name", "x".into()),
            ("mode", "a".into()),
            ("id", "1".into()),
            ("etag", Value::Unknown),
        ]);
        finish_apply(&s.block, &planned, &mut still_unknown, &mut diags);
        assert!(diags.to_string().contains("Unknown After Apply"), "{diags}");
    }

    #[test]
    fn validation_rejects_write_only_for_old_clients_and_runs_validators() {
        let s = Schema::new()
            .attribute(
                Attribute::optional("secret", Type::String).write_only(WriteOnlyFallback::Reject),
            )
            .attribute(
                Attribute::optional("kept", Type::String)
                    .write_only(WriteOnlyFallback::StoreInState),
            )
            .attribute(
                Attribute::optional("size", Type::Number)
                    .validator(crate::validators::int_between(1, 10)),
            );
        let config = Value::Object(BTreeMap::from([
            ("secret".to_owned(), Value::from("pw")),
            ("kept".to_owned(), Value::from("pw")),
            ("size".to_owned(), Value::from(11)),
        ]));
        let mut diags = Diagnostics::new();
        validate(&s.block, &config, None, false, &mut diags);
        let text = diags.to_string();
        assert!(
            text.contains("secret is write-only") && !text.contains("kept is write-only"),
            "{text}"
        );
        assert!(
            text.contains("size must be an integer from 1 to 10, got 11"),
            "{text}"
        );

        let mut diags = Diagnostics::new();
        validate(&s.block, &config, None, true, &mut diags);
        assert_eq!(
            diags.iter().count(),
            1,
            "only the validator fails with a capable client"
        );
    }

    #[test]
    fn schema_must_match_the_state_struct() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Good {
            name: String,
            mode: Option<String>,
            secret: Option<String>,
            id: Option<String>,
            etag: Option<String>,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Drifted {
            name: String,
            colour: Option<String>,
        }
        schema().check_against::<Good>("t").unwrap();
        let err = schema()
            .check_against::<Drifted>("t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"colour\" is not in the schema")
                && err.contains("\"etag\" has no field"),
            "{err}"
        );
    }

    #[test]
    fn nested_blocks_and_attributes_have_types_protos_and_plans() {
        use crate::schema::{Block, NestedBlock, Nesting};
        let inner = Block::new()
            .attribute(Attribute::required("port", Type::Number))
            .attribute(Attribute::computed("uid", Type::String));
        let s = Schema::new()
            .attribute(Attribute::optional(
                "tags",
                crate::schema::AttributeType::Nested(
                    Nesting::Set,
                    vec![Attribute::required("k", Type::String)],
                ),
            ))
            .block(NestedBlock::new("rule", Nesting::List, inner).items(1, 3))
            .version(2);
        assert_eq!(
            *s.value_type(),
            Type::object([
                ("tags", Type::set(Type::object([("k", Type::String)]))),
                (
                    "rule",
                    Type::list(Type::object([
                        ("port", Type::Number),
                        ("uid", Type::String)
                    ]))
                ),
            ])
        );
        let proto = s.to_proto();
        assert_eq!(proto.version, 2);
        let block = proto.block.unwrap();
        assert_eq!(block.block_types[0].type_name, "rule");
        assert_eq!(block.block_types[0].max_items, 3);
        assert!(block.attributes[0].nested_type.is_some() && block.attributes[0].r#type.is_empty());

        let rule = |uid: Value| {
            Value::Object(BTreeMap::from([
                ("port".to_owned(), Value::from(80)),
                ("uid".to_owned(), uid),
            ]))
        };
        let config = Value::Object(BTreeMap::from([
            ("tags".to_owned(), Value::Null),
            ("rule".to_owned(), Value::List(vec![rule(Value::Null)])),
        ]));
        let (planned, _) = plan(&s.block, &Value::Null, &config, &config, false);
        assert!(
            !planned.attr("rule").is_wholly_known(),
            "nested computed value planned unknown"
        );

        // Nested attributes get the same treatment as nested blocks.
        let s = Schema::new().attribute(Attribute::optional(
            "login",
            crate::schema::AttributeType::Nested(
                Nesting::Single,
                vec![
                    Attribute::optional("password", Type::String)
                        .write_only(WriteOnlyFallback::Reject),
                    Attribute::computed("since", Type::String),
                ],
            ),
        ));
        let login = Value::Object(BTreeMap::from([
            ("password".to_owned(), Value::from("pw")),
            ("since".to_owned(), Value::Null),
        ]));
        let config = Value::Object(BTreeMap::from([("login".to_owned(), login)]));
        let (planned, _) = plan(&s.block, &Value::Null, &config, &config, true);
        assert!(planned.attr("login").attr("password").is_null());
        assert!(planned.attr("login").attr("since").is_unknown());
        let mut diags = Diagnostics::new();
        validate(&s.block, &config, None, false, &mut diags);
        assert!(
            diags.to_string().contains("login.password is write-only"),
            "{diags}"
        );
    }

    #[test]
    fn diagnostics_never_show_a_sensitive_value() {
        let secret = "hunter2-HUNTER2";
        let s = Schema::new()
            .attribute(
                Attribute::optional("pin", Type::String)
                    .sensitive()
                    .validator(crate::validators::one_of(["a", "b"])),
            )
            .attribute(Attribute::optional_computed("token", Type::String).sensitive())
            .attribute(Attribute::optional_computed("label", Type::String))
            // Write-only without the sensitive mark: hidden all the same.
            .attribute(
                Attribute::optional("pin_wo", Type::String)
                    .write_only(WriteOnlyFallback::Reject)
                    .validator(crate::validators::one_of(["a", "b"])),
            );
        let write_only_secret = "WRITE-ONLY-hunter3";
        let config = Value::Object(BTreeMap::from([
            ("pin".to_owned(), Value::from(secret)),
            ("token".to_owned(), Value::Null),
            ("label".to_owned(), Value::Null),
            ("pin_wo".to_owned(), Value::from(write_only_secret)),
        ]));
        let mut diags = Diagnostics::new();
        validate(&s.block, &config, None, true, &mut diags);
        assert_eq!(diags.iter().count(), 2, "{diags}");
        assert!(!diags.to_string().contains(secret), "{diags}");
        assert!(!diags.to_string().contains(write_only_secret), "{diags}");

        let planned = Value::Object(BTreeMap::from([
            ("pin".to_owned(), Value::from(secret)),
            ("token".to_owned(), Value::from(secret)),
            ("label".to_owned(), Value::from("planned-label")),
        ]));
        let mut new = Value::Object(BTreeMap::from([
            ("pin".to_owned(), Value::from(secret)),
            ("token".to_owned(), Value::from("other-secret")),
            ("label".to_owned(), Value::from("new-label")),
        ]));
        let mut diags = Diagnostics::new();
        finish_apply(&s.block, &planned, &mut new, &mut diags);
        let text = diags.to_string();
        assert!(
            text.contains("token") && text.contains("(sensitive value)"),
            "{text}"
        );
        assert!(
            !text.contains(secret) && !text.contains("other-secret"),
            "{text}"
        );
        // A non-sensitive attribute's values are shown, to help the author.
        assert!(
            text.contains("planned-label") && text.contains("new-label"),
            "{text}"
        );
        assert!(
            !format!("{new:?}").contains("new-label"),
            "Debug redacts strings"
        );
    }
}
