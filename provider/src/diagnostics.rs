//! Turns [`PpinError`]s into Terraform diagnostics: a title-case summary,
//! then what happened and what to do next, in Terraform's terms where the
//! next step is a Terraform action. No password or secret is ever part of
//! an error, so none can reach a diagnostic.

use ppin::PpinError;
use tfplug::diag::{AttributePath, Diagnostic, Diagnostics};

/// The title-case summary for a failure.
fn summary(error: &PpinError) -> &'static str {
    if let PpinError::UnknownUser { .. } = error {
        return "User Not In primus.cfg";
    }
    match error.kind() {
        "config_not_found" | "config_invalid" => "Invalid primus.cfg",
        "unknown_user" => "User Unknown To The HSM",
        "setup_password_format" => "Malformed Setup Password",
        "proxy_password_missing" => "Service Proxy Password Not Configured",
        "already_configured" => "Permanent Secret Already Configured",
        "not_configured" => "Permanent Secret Not Configured",
        "secrets_file" => "Cannot Use .secrets.cfg",
        "tls_setup" | "tls_handshake" => "TLS Setup Failed",
        "unreachable" => "HSM Unreachable",
        "update_failed" => "Permanent Secret Update Failed",
        "bad_setup_password" => "Setup Password Refused",
        "setup_password_expired" => "Setup Password Expired",
        "bad_pkcs11_password" => "PKCS#11 Password Refused",
        "bad_secret" => "Permanent Secret Refused",
        "bad_proxy_password" => "Service Proxy Password Refused",
        "api_locked" | "pkcs11_locked" => "HSM Login Locked",
        _ => "HSM Request Failed",
    }
}

/// "what happened" as a sentence: capitalised, with the vendor code when
/// the message does not carry it yet.
fn sentence(error: &PpinError) -> String {
    let mut what = error.what();
    if let Some(code) = error.vendor_code() {
        let code = code.to_string();
        if !what.contains(&code) {
            what.push_str(&format!(" ({code})"));
        }
    }
    capitalise(&what)
}

fn capitalise(text: &str) -> String {
    // A sentence may start with a file name (`primus.cfg not found`), which keeps its spelling.
    if text
        .split_whitespace()
        .next()
        .is_some_and(|word| word.contains('.'))
    {
        return text.to_owned();
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The next step, in Terraform's terms where one exists.
fn next_step(error: &PpinError, resource_type: &str) -> String {
    match error {
        PpinError::Config(_) => "Set config_file in the provider block or export SECUROSYS_PKCS11_CONF to the path of \
             a valid primus.cfg, or write it with a primus_config resource this resource depends on (depends_on)"
            .to_owned(),
        PpinError::ProxyPasswordMissing { proxy_user, .. } => format!(
            "Add a primus_service_proxy_password resource with proxy_user = \"{proxy_user}\" and make this resource \
             depend on it (depends_on), or run `ppin -p -e {proxy_user}` on this host, then apply again"
        ),
        PpinError::AlreadyConfigured { user } => format!(
            "Import it with `terraform import {resource_type}.<name> {user}` to manage it with Terraform, or remove \
             it with `ppin -r -e {user}` and apply again"
        ),
        PpinError::UpdateFailed { cause, .. } => format!(
            "Terraform no longer manages an entry for it: the next refresh drops it from the state. {}; then run \
             `terraform apply` again, which adds the permanent secret anew (it needs a setup password that is \
             still valid)",
            capitalise(&cause.next_step())
        ),
        _ => capitalise(&error.next_step()),
    }
}

/// The diagnostic for `error`, raised by `resource_type` and pointing at
/// `path` when the error is about one attribute.
pub(crate) fn ppin_error(
    error: &PpinError,
    resource_type: &str,
    path: Option<AttributePath>,
) -> Diagnostic {
    let detail = format!("{}. {}.", sentence(error), next_step(error, resource_type));
    let diagnostic = Diagnostic::error(summary(error), detail);
    match path {
        Some(path) => diagnostic.at(path),
        None => diagnostic,
    }
}

/// [`ppin_error`] as the `Err` of an operation.
pub(crate) fn fail(
    error: &PpinError,
    resource_type: &str,
    path: Option<AttributePath>,
) -> Diagnostics {
    ppin_error(error, resource_type, path).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_proxy_names_the_resource_to_add() {
        let error = PpinError::ProxyPasswordMissing {
            user: "APP".into(),
            proxy_user: "SERVICE".into(),
        };
        let d = ppin_error(&error, "primus_permanent_secret", None);
        assert_eq!(d.summary, "Service Proxy Password Not Configured");
        assert!(
            d.detail
                .contains("primus_service_proxy_password resource with proxy_user = \"SERVICE\""),
            "{}",
            d.detail
        );
        assert!(
            d.detail.starts_with("User 'APP' sits behind"),
            "{}",
            d.detail
        );
        assert!(d.detail.ends_with('.'), "{}", d.detail);
    }

    #[test]
    fn already_configured_suggests_import_by_user_name() {
        let error = PpinError::AlreadyConfigured { user: "APP".into() };
        let d = ppin_error(
            &error,
            "primus_permanent_secret",
            Some(AttributePath::root("user")),
        );
        assert!(
            d.detail
                .contains("terraform import primus_permanent_secret.<name> APP"),
            "{}",
            d.detail
        );
        assert_eq!(d.path, Some(AttributePath::root("user")));
    }

    #[test]
    fn failed_update_says_the_resource_left_the_state_and_next_apply_adds_it() {
        let cause = PpinError::NotConfigured { user: "APP".into() };
        let error = PpinError::UpdateFailed {
            user: "APP".into(),
            cause: Box::new(cause),
        };
        let d = ppin_error(&error, "primus_permanent_secret", None);
        assert_eq!(d.summary, "Permanent Secret Update Failed");
        assert!(d.detail.contains("drops it from the state"), "{}", d.detail);
        assert!(
            d.detail.contains("`terraform apply` again, which adds"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn a_file_name_starting_a_sentence_keeps_its_spelling() {
        assert_eq!(capitalise("primus.cfg not found"), "primus.cfg not found");
        assert_eq!(capitalise("user 'APP' is unknown"), "User 'APP' is unknown");
    }

    #[test]
    fn vendor_code_is_always_in_the_detail() {
        let error = PpinError::UnknownUser {
            user: "NOPE".into(),
            proxy: false,
            config: "/etc/primus/primus.cfg".into(),
            known: vec!["APP".into()],
        };
        let d = ppin_error(&error, "primus_permanent_secret", None);
        assert_eq!(d.summary, "User Not In primus.cfg");
        assert_eq!(d.detail.matches("0x80005012").count(), 1, "{}", d.detail);
        assert!(d.detail.contains("APP"), "{}", d.detail);
    }
}
