use proptest::prelude::*;

use super::*;

fn parsed(text: &str) -> Result<Report, ParseProblem> {
    parse(&lines(text.as_bytes()))
}

const BANNER_TEXT: &str =
    "********************\r\nPrimus Permanent PIN\r\n********************\r\n";

#[test]
fn interactive_add_with_crlf() {
    let text = format!(
        "{BANNER_TEXT}Provide setup password for 'U1': \r\nProvide PKCS11 password for 'U1': \r\n\
         {BANNER_TEXT}[01] slot-id 0: user 'U1' permanent secret: Configured\r\n"
    );
    let report = parsed(&text).unwrap();
    assert_eq!(report.banners, 2);
    assert_eq!(report.prompts, 2);
    assert!(report.banner_before_prompts && report.banner_after_prompts);
    assert_eq!(
        report.users,
        [UserLine {
            slot_id: 0,
            user: "U1".into(),
            configured: true
        }]
    );
}

#[test]
fn listing_with_proxies_logins_and_extra_lines() {
    let text = format!(
        "{BANNER_TEXT}connecting...\n\n[01] slot-id 0: user 'A' permanent secret: MISSING\n\
         [02] slot-id 7: user 'B' permanent secret: Configured\n\
         [01] service/proxy user 'SVC'  permanent secret: MISSING\n\
         [03] slot-id 1: user 'C' login: OK (hsm0 127.0.0.1:1, hsm-sim 0.1.0)\n\
         [04] slot-id 2: user 'D' login: FAILED: wrong secret (0x80005017)\n"
    );
    let report = parsed(&text).unwrap();
    assert_eq!(report.users.len(), 2);
    assert_eq!(report.users[1].slot_id, 7);
    assert_eq!(
        report.proxies,
        [ProxyLine {
            proxy_user: "SVC".into(),
            configured: false
        }]
    );
    assert_eq!(report.logins[0].failure, None);
    assert_eq!(
        report.logins[1].failure.as_deref(),
        Some("wrong secret (0x80005017)")
    );
    assert!(!report.banner_after_prompts);
}

#[test]
fn what_cannot_be_understood_is_refused_with_the_line() {
    for bad in [
        "[01] slot-id 0: user 'A' permanent secret: maybe",
        "[01] slot-id x: user 'A' permanent secret: MISSING",
        "[01] service/proxy user 'SVC' permanent secret: MISSING",
        "[] slot-id 0: user 'A' permanent secret: MISSING",
        "[01] something else",
    ] {
        assert_eq!(
            parsed(&format!("{BANNER_TEXT}{bad}\n")),
            Err(ParseProblem::Malformed {
                number: 4,
                line: bad.into()
            })
        );
    }
    assert_eq!(
        parsed("********************\nPrimus\n"),
        Err(ParseProblem::BrokenBanner { number: 1 })
    );
    assert_eq!(
        parsed("Primus Permanent PIN\n"),
        Err(ParseProblem::BrokenBanner { number: 1 })
    );
}

#[test]
fn vendor_codes_are_found_anywhere() {
    let found = vendor_code(&lines(b"ppin: error: bad setup password (0x80005017)\n"));
    assert_eq!(found, Some(VendorCode::BAD_SETUP_PASSWORD));
    assert_eq!(
        vendor_code(&lines(b"x 0X8000000b y")),
        Some(VendorCode::WRONG_PKCS11_PIN)
    );
    assert_eq!(vendor_code(&lines(b"0x12345678 0x8000")), None);
}

proptest! {
    #[test]
    fn status_lines_round_trip(slot in 0u32..1000, user in "[A-Z_][A-Z0-9_]{0,20}", configured: bool, crlf: bool) {
        let state = if configured { "Configured" } else { "MISSING" };
        let end = if crlf { "\r\n" } else { "\n" };
        let text = format!("[01] slot-id {slot}: user '{user}' permanent secret: {state}{end}");
        let report = parsed(&text).unwrap();
        prop_assert_eq!(report.users, vec![UserLine { slot_id: slot, user, configured }]);
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panic(text in "\\PC{0,200}") {
        let _ = parsed(&text);
    }
}
