//! Turns [`PpinError`]s into Terraform diagnostics: a title-case summary,
//! then what happened and what to do next, in Terraform's terms where the
//! next step is a Terraform action. No password or secret is ever part of
//! an error, so none can reach a diagnostic.

use ppin::{ExternalError, PpinError, PpinErrorKind};
use tfplug::diag::{AttributePath, Diagnostic, Diagnostics};

/// The title-case summary for a failure.
fn summary(error: &PpinError) -> &'static str {
    kind_summary(error.kind())
}

/// The title-case summary for each kind. `PpinErrorKind` is
/// non-exhaustive, so the compiler cannot catch a new kind falling into `_`:
/// the test `every_kind_has_its_own_summary` does.
fn kind_summary(kind: PpinErrorKind) -> &'static str {
    match kind {
        PpinErrorKind::ConfigNotFound | PpinErrorKind::ConfigInvalid => "Invalid primus.cfg",
        PpinErrorKind::UserNotInConfig => "User Not In primus.cfg",
        PpinErrorKind::UnknownToHsm => "User Unknown To The HSM",
        PpinErrorKind::SetupPasswordFormat => "Malformed Setup Password",
        PpinErrorKind::ProxyPasswordMissing => "Service Proxy Password Not Configured",
        PpinErrorKind::AlreadyConfigured => "Permanent Secret Already Configured",
        PpinErrorKind::NotConfigured => "Permanent Secret Not Configured",
        PpinErrorKind::SecretsFile => "Cannot Use .secrets.cfg",
        PpinErrorKind::IssuedNotStored => "Issued Permanent Secret Not Stored",
        PpinErrorKind::NoUserSelected => "No User Selected",
        PpinErrorKind::HsmNotInConfig => "HSM Not In primus.cfg",
        PpinErrorKind::TlsSetup | PpinErrorKind::TlsHandshake => "TLS Setup Failed",
        PpinErrorKind::Unreachable => "HSM Unreachable",
        PpinErrorKind::Protocol => "Not A Primus HSM",
        PpinErrorKind::ConnectionBroken => "HSM Connection Broken",
        PpinErrorKind::Cancelled => "Operation Cancelled",
        PpinErrorKind::UpdateFailed => "Permanent Secret Update Failed",
        PpinErrorKind::BadSetupPassword => "Setup Password Refused",
        PpinErrorKind::SetupPasswordExpired => "Setup Password Expired",
        PpinErrorKind::BadPkcs11Password => "PKCS#11 Password Refused",
        PpinErrorKind::BadSecret => "Permanent Secret Refused",
        PpinErrorKind::BadProxyPassword => "Service Proxy Password Refused",
        PpinErrorKind::ProxyAuthRequired => "Service Proxy Authentication Required",
        PpinErrorKind::ApiLocked | PpinErrorKind::Pkcs11Locked => "HSM Login Locked",
        PpinErrorKind::UnsupportedVersion
        | PpinErrorKind::BadRequest
        | PpinErrorKind::HsmInternal
        | PpinErrorKind::HsmOther => HSM_REQUEST_FAILED,
        PpinErrorKind::ExternalTimeout => "Vendor ppin Timed Out",
        PpinErrorKind::ExternalOutput => "Vendor ppin Output Not Understood",
        PpinErrorKind::ExternalFailed => "Vendor ppin Failed",
        PpinErrorKind::AccessDisabled => "Partition Access Disabled",
        PpinErrorKind::TooManyConnections => "Too Many HSM Connections",
        PpinErrorKind::NotLoggedIn => "User Not Logged In",
        PpinErrorKind::PasswordExpired => "Password Expired",
        PpinErrorKind::KeyOrObject => "HSM Key Or Object Error",
        PpinErrorKind::VendorToolFault => "Vendor ppin Fault",
        PpinErrorKind::Pkcs11Standard => "PKCS#11 Error",
        PpinErrorKind::HsmSystemError => "HSM System Error",
        PpinErrorKind::LogDisabled => "Partition Log Not Enabled",
        PpinErrorKind::UnknownVendorCode => "Undocumented Vendor Error",
        PpinErrorKind::RemoteHost => "Remote Host Not Reachable Or Not Ready",
        _ => UNMAPPED,
    }
}

/// The summary of the HSM's own failures, which need no words of their own.
const HSM_REQUEST_FAILED: &str = "HSM Request Failed";
/// What a kind newer than this provider gets; a test keeps it unused.
const UNMAPPED: &str = "Operation Failed";

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
        PpinError::Secrets { .. } => "Check secrets_file and key_file in the provider block (or \
             SECUROSYS_SECRETS_CONF and SECUROSYS_SECRETS_KEY) and the permissions of the file and its directory, \
             then apply again"
            .to_owned(),
        PpinError::IssuedNotStored { user, .. } => format!(
            "Fix the cause above, ask the HSM administrator for a new setup password for '{user}', set it as \
             setup_password (or setup_password_wo with a new password_wo_version) and apply again"
        ),
        PpinError::UpdateFailed { cause, .. } => format!(
            "The resource stays in the state until the next refresh (Terraform keeps the prior state on an \
             error), which finds the entry gone and plans to create it. {}; then run `terraform apply` again, \
             which adds the permanent secret anew (it needs a setup password that is still valid)",
            capitalise(&cause.next_step())
        ),
        PpinError::External(external) => external_next_step(error, external),
        _ => capitalise(&error.next_step()),
    }
}

/// The next step after a failed run of the `ppin_command`, where ppin's
/// advice names its command-line flags rather than provider settings.
fn external_next_step(error: &PpinError, external: &ExternalError) -> String {
    match (error.kind(), external) {
        (_, ExternalError::Spawn { .. }) => {
            "Check ppin_command in the provider block (or PRIMUS_PPIN_COMMAND): it must name the vendor's ppin"
                .to_owned()
        }
        (PpinErrorKind::ConfigNotFound, _) => "Set config_file in the provider block or export \
             SECUROSYS_PKCS11_CONF to the path of the primus.cfg the vendor's ppin should read"
            .to_owned(),
        (PpinErrorKind::SecretsFile, _) => "Check secrets_file in the provider block (or \
             SECUROSYS_SECRETS_CONF) and the permissions of the file and its directory for the user Terraform \
             runs as, then apply again"
            .to_owned(),
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
    at(Diagnostic::error(summary(error), detail), path)
}

fn at(diagnostic: Diagnostic, path: Option<AttributePath>) -> Diagnostic {
    match path {
        Some(path) => diagnostic.at(path),
        None => diagnostic,
    }
}

/// The diagnostic for a `primus.cfg` that cannot be used on the host
/// named `host` (`ADDRESS:PORT`): the settings that locate it there are the
/// `ssh` block's and the host's, not this machine's.
pub(crate) fn host_config_error(error: &PpinError, host: &str) -> Diagnostics {
    let detail = format!(
        "On {host}: {}. Set ssh.config_file in the provider block to its path on the host, or \
         SECUROSYS_PKCS11_CONF in the SSH session's environment there (with ssh.sudo the session's variables do \
         not reach the tool), or write it with a primus_config resource with the same host block that this \
         resource depends on (depends_on).",
        sentence(error)
    );
    Diagnostic::error(summary(error), detail)
        .at(AttributePath::root("host"))
        .into()
}

/// The warning a plan shows when a local check that the apply runs before
/// contacting the HSM already fails: the apply would stop there, spending
/// nothing at the HSM, but saying so at plan time saves a round.
pub(crate) fn plan_warning(
    error: &PpinError,
    resource_type: &str,
    path: Option<AttributePath>,
) -> Diagnostic {
    let detail = format!(
        "{}. {}. The apply runs this check before contacting the HSM and would fail on it; the plan sent \
         nothing to the HSM.",
        sentence(error),
        next_step(error, resource_type)
    );
    at(Diagnostic::warning(summary(error), detail), path)
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
        assert!(
            d.detail
                .contains("stays in the state until the next refresh"),
            "{}",
            d.detail
        );
        assert!(
            d.detail.contains("`terraform apply` again, which adds"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn every_kind_has_its_own_summary() {
        for kind in PpinErrorKind::ALL {
            let summary = kind_summary(*kind);
            assert_ne!(summary, UNMAPPED, "{kind} falls into the catch-all arm");
            assert!(
                summary.chars().next().is_some_and(char::is_uppercase),
                "{kind}: {summary}"
            );
        }
    }

    #[test]
    fn secrets_file_errors_speak_of_provider_settings_not_flags() {
        let error = PpinError::Secrets {
            user: Some("APP".into()),
            source: secrets_cfg::Error::NotFound {
                path: "/etc/primus/.secrets.cfg".into(),
            },
        };
        let d = ppin_error(&error, "primus_permanent_secret", None);
        assert_eq!(d.summary, "Cannot Use .secrets.cfg");
        assert!(
            d.detail.contains("secrets_file and key_file"),
            "{}",
            d.detail
        );
        assert!(!d.detail.contains("-s <path>"), "{}", d.detail);
        assert_eq!(d.detail.matches("0x80005004").count(), 1, "{}", d.detail);
        // The CLI keeps its flags.
        assert!(
            error.next_step().contains("-s <path>"),
            "{}",
            error.next_step()
        );
    }

    #[test]
    fn vendor_ppin_errors_speak_of_provider_settings() {
        use std::os::unix::process::ExitStatusExt;

        let failed = PpinError::External(ExternalError::Failed {
            command: "/usr/local/primus/bin/ppin -l".into(),
            status: std::process::ExitStatus::from_raw(1 << 8),
            output: vec!["ppin: error: secrets file not found (0x80005004)".into()],
        });
        let d = ppin_error(&failed, "primus_secrets", None);
        assert_eq!(d.summary, "Cannot Use .secrets.cfg");
        // The provider's setting, and the command with what it printed.
        for shown in [
            "secrets_file in the provider block",
            "/usr/local/primus/bin/ppin -l",
            "0x80005004",
        ] {
            assert!(d.detail.contains(shown), "{shown}: {}", d.detail);
        }
        assert!(!d.detail.contains("-s <path>"), "{}", d.detail);

        let spawn = PpinError::External(ExternalError::Spawn {
            command: "/opt/ppin -l".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        let d = ppin_error(&spawn, "primus_secrets", None);
        assert_eq!(d.summary, "Vendor ppin Failed");
        assert!(d.detail.contains("Check ppin_command"), "{}", d.detail);
    }

    #[test]
    fn a_plan_warning_is_the_apply_error_as_a_warning_in_provider_words() {
        let error = PpinError::Secrets {
            user: Some("APP".into()),
            source: secrets_cfg::Error::DirectoryNotFound {
                path: "/etc/primus".into(),
            },
        };
        let d = plan_warning(
            &error,
            "primus_permanent_secret",
            Some(AttributePath::root("user")),
        );
        assert_eq!(d.severity, tfplug::diag::Severity::Warning);
        assert_eq!(d.summary, "Cannot Use .secrets.cfg");
        assert!(d.detail.contains("/etc/primus"), "{}", d.detail);
        assert_eq!(d.detail.matches("0x80005004").count(), 1, "{}", d.detail);
        assert!(d.detail.contains("secrets_file"), "{}", d.detail);
        assert!(
            d.detail.contains("before contacting the HSM"),
            "{}",
            d.detail
        );
        assert_eq!(d.path, Some(AttributePath::root("user")));
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
            role: ppin::UserRole::Slot,
            config: "/etc/primus/primus.cfg".into(),
            known: vec!["APP".into()],
        };
        let d = ppin_error(&error, "primus_permanent_secret", None);
        assert_eq!(d.summary, "User Not In primus.cfg");
        assert_eq!(d.detail.matches("0x80005012").count(), 1, "{}", d.detail);
        assert!(d.detail.contains("APP"), "{}", d.detail);
    }
}
