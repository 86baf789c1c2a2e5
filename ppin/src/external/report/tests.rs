//! The report parser over the vendor's documented samples (see
//! `tests/vendor/test-report/README.md` for the page of each).

use super::*;
use crate::external::parse::lines;

fn sample(text: &str) -> Vec<String> {
    lines(text.as_bytes())
}

/// A page that stops with `…` after the slot lines, completed with the
/// summary its lines call for.
fn completed(text: &str, summary: &str) -> Vec<String> {
    let mut lines = sample(text);
    assert_eq!(lines.pop().as_deref(), Some("…"), "the page elides the end");
    lines.extend(summary.lines().map(str::to_owned));
    lines
}

#[test]
fn troubleshooting_page() {
    let report = parse_report(&sample(include_str!(
        "../../../tests/vendor/test-report/troubleshooting.txt"
    )))
    .unwrap();
    assert_eq!(report.config_file, "/etc/primus/primus.cfg");
    assert_eq!(
        report.hsms,
        [HsmBlock {
            hsm: "hsm0".to_owned(),
            host: "82.197.162.10".to_owned(),
            port: 2411,
            firmware: Ok("RP-2.11.2-T".to_owned()),
            slots: vec![SlotLine {
                slot: "slot0".to_owned(),
                slot_id: 2,
                user: "DEMO-TEST".to_owned(),
                failure: None,
            }],
        }]
    );
}

#[test]
fn ppin_tool_page_and_apache_page() {
    let tool = parse_report(&sample(include_str!(
        "../../../tests/vendor/test-report/ppin-tool.txt"
    )))
    .unwrap();
    assert_eq!(tool.hsms[0].firmware.as_deref(), Ok("RP-2.10.0-T"));
    let apache = parse_report(&sample(include_str!(
        "../../../tests/vendor/test-report/openssl-apache.txt"
    )))
    .unwrap();
    assert_eq!(apache.hsms[0].host, "grimsel.securosys.ch");
    assert_eq!(apache.hsms[0].slots[0].user, "<your partition name>");
}

#[test]
fn fortigate_cluster_has_two_hsms() {
    let report = parse_report(&sample(include_str!(
        "../../../tests/vendor/test-report/fortigate-cluster.txt"
    )))
    .unwrap();
    let ports: Vec<u16> = report.hsms.iter().map(|h| h.port).collect();
    assert_eq!(ports, [2410, 2411]);
    assert!(report
        .hsms
        .iter()
        .all(|h| h.slots.len() == 1 && h.slots[0].user == "PRIMUSDEV368"));
}

#[test]
fn cloudhsm_pages_with_a_failed_slot() {
    for (text, failed_user) in [
        (
            include_str!("../../../tests/vendor/test-report/cyberark-cloudhsm.txt"),
            "DEMO_PARTITION2",
        ),
        (
            include_str!("../../../tests/vendor/test-report/hc-vault-cloudhsm.txt"),
            "TESTPARTITION",
        ),
    ] {
        let summary =
            "\nNumber of tested HSMs: 1 (number of partitions: 2)\nNumber of failures: 1\n";
        let report = parse_report(&completed(text, summary)).unwrap();
        let hsm = &report.hsms[0];
        assert_eq!((hsm.host.as_str(), hsm.port), ("a-api.cloudshsm.com", 2310));
        assert_eq!(hsm.slots[1].user, failed_user);
        assert_eq!(
            hsm.slots[1].failure.as_deref(),
            Some("CKR_TOKEN_NOT_PRESENT")
        );
        assert_eq!(hsm.slots[0].failure, None);
    }
    let windows = parse_report(&completed(
        include_str!("../../../tests/vendor/test-report/cyberark-cloudhsm.txt"),
        "Number of tested HSMs: 1 (number of partitions: 2)\nNumber of failures: 1",
    ))
    .unwrap();
    assert_eq!(
        windows.config_file,
        r"C:\Program Files\Securosys\Primus P11\primus.cfg"
    );
}

#[test]
fn the_elided_page_alone_is_incomplete() {
    let mut lines = sample(include_str!(
        "../../../tests/vendor/test-report/cyberark-cloudhsm.txt"
    ));
    lines.pop();
    assert!(matches!(
        parse_report(&lines),
        Err(ParseProblem::MissingLine(_))
    ));
}

#[test]
fn a_connection_failure_in_our_form() {
    let report = parse_report(&sample(
        "Load config file: '/p/primus.cfg'\n\nhsm0: Connect to '127.0.0.1' on port 9, FAILED: refused (0x80005015)\n\
         hsm1: Connect to 'h1' on port 2310, firmware: hsm-sim 0.1.0\n    slot0 (id=0), user=U: OK\n\n\
         Number of tested HSMs: 2 (number of partitions: 1)\nNumber of failures: 1\n",
    ))
    .unwrap();
    assert_eq!(
        report.hsms[0].firmware,
        Err("refused (0x80005015)".to_owned())
    );
    assert_eq!(report.hsms[1].slots.len(), 1);
}

#[test]
fn what_does_not_fit_is_quoted() {
    let cases = [
        // Single-space status lines are no report.
        "[01] slot-id 0: user 'U' login: OK",
        "Load config file: '/p'\nhsm0: Connect to '127.0.0.1' on port x, firmware: F",
        "Load config file: '/p'\nhsm0: Connect to '127.0.0.1' on port 1, firmware: F\nslot0 (id=0), user=U: OK",
        "Load config file: '/p'\nhsm0: Connect to '127.0.0.1' on port 1, firmware: F\n    slot0 (id=0) user=U: OK",
        "Load config file: '/p'\n    slot0 (id=0), user=U: OK",
        "Load config file: '/p'\nhsm0: Connect to 'h' on port 1, FAILED: no\n    slot0 (id=0), user=U: OK",
        "Load config file: '/p'\nNumber of tested HSMs: 0 (number of partitions: 0)\nNumber of failures: 0\nmore",
    ];
    for case in cases {
        let problem = parse_report(&sample(case)).unwrap_err();
        assert!(
            matches!(problem, ParseProblem::Malformed { .. }),
            "{case:?}: {problem}"
        );
    }
}

#[test]
fn a_summary_that_disagrees_is_refused() {
    for summary in [
        "Number of tested HSMs: 2 (number of partitions: 1)\nNumber of failures: 0",
        "Number of tested HSMs: 1 (number of partitions: 2)\nNumber of failures: 0",
        "Number of tested HSMs: 1 (number of partitions: 1)\nNumber of failures: 1",
    ] {
        let text = format!(
            "Load config file: '/p'\nhsm0: Connect to 'h' on port 1, firmware: F\n    slot0 (id=0), user=U: OK\n{summary}\n"
        );
        let problem = parse_report(&sample(&text)).unwrap_err();
        assert!(
            matches!(problem, ParseProblem::Summary { number: 4, .. }),
            "{problem}"
        );
    }
}

#[test]
fn a_report_without_failures_line_is_incomplete() {
    let text = "Load config file: '/p'\nNumber of tested HSMs: 0 (number of partitions: 0)\n";
    assert!(matches!(
        parse_report(&sample(text)),
        Err(ParseProblem::MissingLine(_))
    ));
}
