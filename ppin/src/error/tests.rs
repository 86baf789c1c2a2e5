use std::time::{Duration, SystemTime};

use hsm_wire::{ClientError, ErrorKind, WireError};

use super::*;

fn hsm() -> Hsm {
    Hsm {
        name: "hsm0".into(),
        host: "127.0.0.1".into(),
        port: 2310,
        ca_file: None,
        priority: 0,
    }
}

fn rejected(error: WireError, at: SystemTime) -> PpinError {
    PpinError::Hsm {
        user: Some("PARTITION".into()),
        proxy_user: None,
        hsm: Box::new(hsm()),
        source: Box::new(ClientError::Hsm {
            addr: "127.0.0.1:2310".into(),
            op: "fetch_secret",
            error,
        }),
        at,
    }
}

#[test]
fn lockout_names_remaining_time_and_earliest_retry() {
    // 13:00:57 UTC on day 0, locked for 4m12s: do not retry before 13:05:09.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(13 * 3600 + 57);
    let until_ms = (13 * 3600 + 5 * 60 + 9) * 1000;
    let error = rejected(
        WireError::new(ErrorKind::ApiLocked, "locked")
            .with_lockout(until_ms, Duration::from_secs(252)),
        at,
    );
    assert_eq!(
        error.to_string(),
        "HSM hsm0 (127.0.0.1:2310): API login of user 'PARTITION' is locked for 4m12s more: do not retry before 13:05:09 UTC"
    );
    assert_eq!(error.locked_until(), Some(at + Duration::from_secs(252)));
    assert_eq!(error.kind().as_str(), "api_locked");
    assert_eq!(error.user(), Some("PARTITION"));
    assert_eq!(error.hsm().map(|h| h.name.as_str()), Some("hsm0"));
    assert!(!error.is_local());
}

#[test]
fn bad_setup_password_carries_code_and_attempts_left() {
    let error = rejected(
        WireError::new(ErrorKind::BadSetupPassword, "wrong").with_attempts_left(99),
        SystemTime::now(),
    );
    assert_eq!(error.vendor_code(), Some(VendorCode(0x8000_5017)));
    assert_eq!(error.attempts_left(), Some(99));
    assert_eq!(
        error.to_string(),
        "HSM hsm0 (127.0.0.1:2310) refused the setup password of user 'PARTITION' (0x80005017), 99 attempts left: \
         check the setup password and run the command again; 99 more wrong attempts lock it"
    );
}

#[test]
fn the_trial_that_locks_says_so() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
    let error = WireError::new(ErrorKind::BadPkcs11Password, "wrong")
        .with_attempts_left(0)
        .with_lockout(360_000, Duration::from_secs(300));
    assert_eq!(
        rejected(error, at).to_string(),
        "HSM hsm0 (127.0.0.1:2310) refused the PKCS#11 password of user 'PARTITION' (0x8000000B); \
         PKCS#11 access is now locked for 5m00s: check the PKCS#11 password, and do not retry before 00:06:00 UTC"
    );
}

#[test]
fn failed_update_says_the_next_try_is_an_add() {
    let cause = rejected(
        WireError::new(ErrorKind::SetupPasswordExpired, "expired"),
        SystemTime::now(),
    );
    let error = PpinError::UpdateFailed {
        user: "PARTITION".into(),
        cause: Box::new(cause),
    };
    let text = error.to_string();
    assert!(text.starts_with("HSM hsm0 (127.0.0.1:2310): the setup password of user 'PARTITION' has expired (0x80005018); the permanent secret of 'PARTITION' was removed"), "{text}");
    assert!(
        text.ends_with(
            "then run `ppin -a -e PARTITION` (not -u) to fetch a permanent secret again"
        ),
        "{text}"
    );
    assert_eq!(error.vendor_code(), Some(VendorCode(0x8000_5018)));
    assert_eq!(error.hsm().map(|h| h.port), Some(2310));
}

#[test]
fn local_refusals_name_the_fix() {
    let proxy = PpinError::ProxyPasswordMissing {
        user: "CLOUD_APP".into(),
        proxy_user: "SERVICE_USER".into(),
    };
    assert_eq!(
        proxy.to_string(),
        "user 'CLOUD_APP' sits behind the CloudHSM service proxy 'SERVICE_USER', whose password is not in .secrets.cfg: \
         run `ppin -p -e SERVICE_USER` first, then run this command again"
    );
    assert!(proxy.is_local());
    let unknown = PpinError::UnknownUser {
        user: "NOPE".into(),
        role: UserRole::Slot,
        config: "/etc/primus/primus.cfg".into(),
        known: vec!["A".into(), "B".into()],
    };
    assert_eq!(
        unknown.to_string(),
        "user 'NOPE' is not in /etc/primus/primus.cfg (0x80005012): use one of the configured user_names: A, B"
    );
    assert_eq!(unknown.vendor_code(), Some(VendorCode::USER_NOT_IN_CONFIG));
    let format = PpinError::SetupPasswordFormat {
        user: "A".into(),
        problem: SetupPasswordProblem::Length { found: 28 },
    };
    assert!(format.to_string().starts_with(
        "the setup password for 'A' is malformed: it has 28 characters instead of 29; nothing was sent to the HSM: "
    ));
}

#[test]
fn connection_level_failures_say_what_to_check() {
    let broken = |source: ClientError| PpinError::Hsm {
        user: Some("PARTITION".into()),
        proxy_user: None,
        hsm: Box::new(hsm()),
        source: Box::new(source),
        at: SystemTime::now(),
    };
    let name = broken(ClientError::InvalidServerName {
        name: "bad name".into(),
    });
    assert_eq!(name.kind().as_str(), "config_invalid");
    assert!(
        name.next_step()
            .starts_with("set host of HSM hsm0 in primus.cfg"),
        "{name}"
    );
    let protocol = broken(ClientError::Protocol {
        addr: "127.0.0.1:2310".into(),
        op: "hello",
        got: "hello",
    });
    assert_eq!(protocol.kind().as_str(), "protocol");
    assert!(
        protocol
            .to_string()
            .starts_with("HSM hsm0 (127.0.0.1:2310) does not speak this protocol"),
        "{protocol}"
    );
}

#[test]
fn the_vendor_code_a_tool_printed_gives_the_built_in_kind() {
    use std::os::unix::process::ExitStatusExt;

    use crate::external::ExternalError;

    let failed = |line: &str| {
        PpinError::External(ExternalError::Failed {
            command: "ppin -a -e APP".to_owned(),
            status: std::process::ExitStatus::from_raw(1 << 8),
            output: vec!["********************".to_owned(), line.to_owned()],
        })
    };
    for (code, kind) in [
        ("0x80005017", PpinErrorKind::BadSetupPassword),
        ("0x80005018", PpinErrorKind::SetupPasswordExpired),
        ("0x8000000B", PpinErrorKind::BadPkcs11Password),
        ("0x80005012", PpinErrorKind::UserNotInConfig),
        ("0x80005015", PpinErrorKind::Unreachable),
        ("0x80005003", PpinErrorKind::ConfigNotFound),
        ("0x80005004", PpinErrorKind::SecretsFile),
        ("0x80005007", PpinErrorKind::SecretsFile),
        ("0x80001234", PpinErrorKind::UnknownVendorCode),
    ] {
        let error = failed(&format!("ppin: error: something (code {code})"));
        assert_eq!(error.kind(), kind, "{code}");
        assert!(error.to_string().contains(code), "{error}");
    }
    assert_eq!(
        failed("no code at all").kind(),
        PpinErrorKind::ExternalFailed
    );
}

/// Every row of the vendor's error code table, with the kind it gets.
const TABLE_KINDS: &[(u32, PpinErrorKind)] = &[
    (0x8000_0001, PpinErrorKind::KeyOrObject),
    (0x8000_0002, PpinErrorKind::KeyOrObject),
    (0x8000_0003, PpinErrorKind::KeyOrObject),
    (0x8000_0004, PpinErrorKind::KeyOrObject),
    (0x8000_0005, PpinErrorKind::KeyOrObject),
    (0x8000_0006, PpinErrorKind::KeyOrObject),
    (0x8000_0008, PpinErrorKind::KeyOrObject),
    (0x8000_0009, PpinErrorKind::KeyOrObject),
    (0x8000_000A, PpinErrorKind::KeyOrObject),
    (0x8000_000B, PpinErrorKind::BadPkcs11Password),
    (0x8000_000C, PpinErrorKind::NotLoggedIn),
    (0x8000_000D, PpinErrorKind::UnknownToHsm),
    (0x8000_000E, PpinErrorKind::KeyOrObject),
    (0x8000_0012, PpinErrorKind::KeyOrObject),
    (0x8000_0018, PpinErrorKind::TooManyConnections),
    (0x8000_002A, PpinErrorKind::KeyOrObject),
    (0x8000_0037, PpinErrorKind::PasswordExpired),
    (0x8000_003B, PpinErrorKind::Unreachable),
    (0x8000_0058, PpinErrorKind::KeyOrObject),
    (0x8000_005F, PpinErrorKind::AccessDisabled),
    (0x8000_0069, PpinErrorKind::AccessDisabled),
    (0x8000_0084, PpinErrorKind::KeyOrObject),
    (0x8000_0085, PpinErrorKind::KeyOrObject),
    (0x8000_5001, PpinErrorKind::ConfigInvalid),
    (0x8000_5002, PpinErrorKind::AlreadyConfigured),
    (0x8000_5003, PpinErrorKind::ConfigNotFound),
    (0x8000_5004, PpinErrorKind::SecretsFile),
    (0x8000_5005, PpinErrorKind::ConfigInvalid),
    (0x8000_5006, PpinErrorKind::SecretsFile),
    (0x8000_5007, PpinErrorKind::SecretsFile),
    (0x8000_5008, PpinErrorKind::SecretsFile),
    (0x8000_5009, PpinErrorKind::SecretsFile),
    (0x8000_5010, PpinErrorKind::SecretsFile),
    (0x8000_5011, PpinErrorKind::SecretsFile),
    (0x8000_5012, PpinErrorKind::UserNotInConfig),
    (0x8000_5013, PpinErrorKind::SecretsFile),
    (0x8000_5014, PpinErrorKind::VendorToolFault),
    (0x8000_5015, PpinErrorKind::Unreachable),
    (0x8000_5017, PpinErrorKind::BadSetupPassword),
    (0x8000_5018, PpinErrorKind::SetupPasswordExpired),
    (0x8000_5019, PpinErrorKind::AccessDisabled),
];

fn tool_failed(output: &[&str]) -> PpinError {
    use std::os::unix::process::ExitStatusExt;

    PpinError::External(crate::external::ExternalError::Failed {
        command: "ppin -t".to_owned(),
        status: std::process::ExitStatus::from_raw(1 << 8),
        output: output.iter().map(|l| (*l).to_owned()).collect(),
    })
}

#[test]
fn every_code_of_the_vendor_table_has_its_kind_and_is_reported_with_its_description() {
    let documented: Vec<VendorCode> = VendorCode::DOCUMENTED.iter().map(|row| row.code).collect();
    let tested: Vec<VendorCode> = TABLE_KINDS
        .iter()
        .map(|(code, _)| VendorCode(*code))
        .collect();
    assert_eq!(tested, documented, "a code of the table has no test");
    for (code, kind) in TABLE_KINDS {
        let code = VendorCode(*code);
        assert_eq!(PpinErrorKind::of_vendor_code(code), *kind, "{code}");
        // As the vendor's tool reports it.
        let error = tool_failed(&[
            "********************",
            &format!("ppin: error (code {code})"),
        ]);
        assert_eq!(error.kind(), *kind, "{code}");
        assert_eq!(error.vendor_code(), Some(code));
        let what = error.what();
        assert!(what.contains(&code.to_string()), "{what}");
        assert!(what.contains(code.description()), "{what}");
        assert!(!error.next_step().is_empty());
    }
}

#[test]
fn codes_the_table_does_not_list_are_reported_by_number_and_class() {
    assert_eq!(
        PpinErrorKind::of_vendor_code(VendorCode(0xC000_0042)),
        PpinErrorKind::HsmSystemError
    );
    assert_eq!(
        PpinErrorKind::of_vendor_code(VendorCode(0x0000_00A0)),
        PpinErrorKind::Pkcs11Standard
    );
    assert_eq!(
        PpinErrorKind::of_vendor_code(VendorCode(0x8000_5016)),
        PpinErrorKind::UnknownVendorCode
    );
    assert_eq!(
        PpinErrorKind::of_vendor_code(VendorCode(0x4000_0000)),
        PpinErrorKind::UnknownVendorCode
    );
    // Printed by the tool where a status line should be: the code, not "output not understood".
    let error = PpinError::External(crate::external::ExternalError::Unexpected {
        command: "ppin -l".to_owned(),
        problem: crate::external::ParseProblem::Malformed {
            number: 1,
            line: "ppin: failed with 0x80005099".to_owned(),
        },
        output: vec!["ppin: failed with 0x80005099".to_owned()],
    });
    assert_eq!(error.kind(), PpinErrorKind::UnknownVendorCode);
    let what = error.what();
    assert!(
        what.starts_with("`ppin -l` reported 0x80005099: Securosys specific errors"),
        "{what}"
    );
    assert!(!what.contains("cannot understand"), "{what}");
    // An HSM system error from a newer HSM, whose wire kind this version does not know.
    let mut wire = WireError::new(ErrorKind::Unknown, "disk full");
    wire.vendor_code = Some(VendorCode(0xC000_0042));
    let error = rejected(wire, SystemTime::now());
    assert_eq!(error.kind(), PpinErrorKind::HsmSystemError);
    assert!(
        error
            .what()
            .ends_with("disk full (0xC0000042: HSM system errors)"),
        "{}",
        error.what()
    );
}

#[test]
fn every_kind_says_what_to_do() {
    for kind in PpinErrorKind::ALL {
        let advice = kind.advice();
        assert!(
            advice.starts_with(|c: char| c.is_ascii_lowercase()) && !advice.ends_with('.'),
            "{kind}: {advice}"
        );
    }
    assert!(PpinErrorKind::AccessDisabled
        .advice()
        .contains("HSM administrator"));
}

#[test]
fn a_refused_log_fetch_says_whom_to_ask() {
    let error = rejected(
        WireError::new(ErrorKind::LogDisabled, "no client log"),
        SystemTime::now(),
    );
    assert_eq!(error.kind(), PpinErrorKind::LogDisabled);
    assert_eq!(error.kind().as_str(), "log_disabled");
    assert!(
        error.next_step().contains("enable the client API user log"),
        "{}",
        error.next_step()
    );
    let internal = rejected(
        WireError::new(ErrorKind::Internal, "disk"),
        SystemTime::now(),
    );
    assert_eq!(internal.next_step(), "report this to the HSM administrator");
}
