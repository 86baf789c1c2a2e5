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
            number: 9,
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
            number: 8,
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
        "[] slot-id 0: user 'A' permanent secret: MISSING",
        "[01]slot-id 0: user 'A' permanent secret: MISSING",
        "[01] slot-id 0:user 'A' permanent secret: MISSING",
        "[01] slot-id 0: user A permanent secret: MISSING",
        "[01] slot-id 0: user 'A'permanent secret: MISSING",
        "[01] slot-id 0: user 'A' permanent secret:MISSING",
        "[01] slot-id 0: user 'A' permanentsecret: MISSING",
        "[01] slot-id 0: user 'A' permanent secret: Configured yes",
        "[01] slot-id 0: user '' permanent secret: MISSING",
        "[01] slot-id 0: user 'A'B' permanent secret: MISSING",
        "[01] service/proxy  'SVC' permanent secret: MISSING",
        "[01] service/proxyuser 'SVC' permanent secret: MISSING",
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
        prop_assert_eq!(report.users, vec![UserLine { number: 1, slot_id: slot, user, configured }]);
    }

    /// Any run of blanks between the fields, and at the end, reads the same.
    #[test]
    fn padded_status_lines_read_as_single_spaced(
        slot in 0u32..1000,
        user in "[A-Za-z_][A-Za-z0-9_ -]{0,20}",
        configured: bool,
        gaps in proptest::collection::vec("[ \t]{1,6}", 8),
    ) {
        let state = if configured { "Configured" } else { "MISSING" };
        let g = &gaps;
        let user_text = format!(
            "[03]{}slot-id{}{slot}:{}user{}'{user}'{}permanent{}secret:{}{state}{}\n",
            g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
        );
        let report = parsed(&user_text).unwrap();
        prop_assert_eq!(report.users, vec![UserLine { number: 1, slot_id: slot, user: user.clone(), configured }]);
        let proxy_text = format!(
            "[02]{}service/proxy{}user{}'{user}'{}permanent{}secret:{}{state}{}\n",
            g[0], g[1], g[2], g[3], g[4], g[5], g[6]
        );
        let report = parsed(&proxy_text).unwrap();
        prop_assert_eq!(report.proxies, vec![ProxyLine { number: 1, proxy_user: user, configured }]);
    }

    #[test]
    fn any_text_is_parsed_or_refused_without_panic(text in "\\PC{0,200}") {
        let _ = parsed(&text);
    }
}

/// The vendor's documented samples (see `tests/fixtures/vendor/README.md`),
/// byte for byte: every one is read, with every status line understood.
#[test]
fn every_documented_vendor_sample_is_read() {
    let samples: [(&str, &str, usize, usize); 11] = [
        (
            "ppin-tool-list",
            include_str!("../../../tests/fixtures/vendor/ppin-tool-list.txt"),
            6,
            2,
        ),
        (
            "permanent-secret-add",
            include_str!("../../../tests/fixtures/vendor/permanent-secret-add.txt"),
            1,
            0,
        ),
        (
            "permanent-secret-update",
            include_str!("../../../tests/fixtures/vendor/permanent-secret-update.txt"),
            1,
            0,
        ),
        (
            "permanent-secret-remove",
            include_str!("../../../tests/fixtures/vendor/permanent-secret-remove.txt"),
            1,
            0,
        ),
        (
            "cloudhsm-proxy-add",
            include_str!("../../../tests/fixtures/vendor/cloudhsm-proxy-add.txt"),
            1,
            1,
        ),
        (
            "cloudhsm-add",
            include_str!("../../../tests/fixtures/vendor/cloudhsm-add.txt"),
            1,
            1,
        ),
        (
            "proxy-management-proxy-add",
            include_str!("../../../tests/fixtures/vendor/proxy-management-proxy-add.txt"),
            1,
            1,
        ),
        (
            "proxy-management-proxy-remove",
            include_str!("../../../tests/fixtures/vendor/proxy-management-proxy-remove.txt"),
            0,
            1,
        ),
        (
            "cyberark-proxy-add",
            include_str!("../../../tests/fixtures/vendor/cyberark-proxy-add.txt"),
            2,
            2,
        ),
        (
            "cyberark-add",
            include_str!("../../../tests/fixtures/vendor/cyberark-add.txt"),
            2,
            2,
        ),
        (
            "cyberark-troubleshooting-list",
            include_str!("../../../tests/fixtures/vendor/cyberark-troubleshooting-list.txt"),
            3,
            1,
        ),
    ];
    for (name, text, users, proxies) in samples {
        let report = parsed(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (report.users.len(), report.proxies.len()),
            (users, proxies),
            "{name}"
        );
        let status_lines = text.lines().filter(|l| l.starts_with('[')).count();
        assert_eq!(
            status_lines,
            users + proxies,
            "{name}: a status line was passed over"
        );
    }
    let list = parsed(include_str!(
        "../../../tests/fixtures/vendor/ppin-tool-list.txt"
    ))
    .unwrap();
    assert_eq!(
        list.users[2],
        UserLine {
            number: 6,
            slot_id: 5,
            user: "CLOUDHSMPAR".into(),
            configured: false
        }
    );
    assert_eq!(list.proxies[1].proxy_user, "eqabxrfnqqos");
    let add = parsed(include_str!(
        "../../../tests/fixtures/vendor/cyberark-add.txt"
    ))
    .unwrap();
    assert_eq!(add.prompts, 2);
    assert!(add.banner_before_prompts && add.banner_after_prompts);
    assert!(add
        .users
        .iter()
        .all(|u| u.user == "DEMO_PARTITION" && u.configured));
}
