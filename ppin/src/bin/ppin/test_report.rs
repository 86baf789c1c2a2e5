//! What `ppin -t` and `ppin -v` print: the vendor's forms (provider 2.2.4),
//! or one JSON document (`--json`).

use ppin::{HsmVersion, TestReport};
use serde_json::{json, Value};

use crate::render::error_json;

/// The vendor's provider version whose `ppin` this tool stands in for: its
/// `-v` line is what tools reading `ppin -v` look for.
const EMULATED_PROVIDER: &str = "2.2.4";

/// An error on one line of the report (the vendor's lines hold one outcome each).
fn one_line(error: &ppin::PpinError) -> String {
    error.to_string().replace(['\n', '\r'], " ")
}

/// The report, as the vendor's pages show it:
///
/// ```text
/// Load config file: '/etc/primus/primus.cfg'
///
/// hsm0: Connect to '82.197.162.10' on port 2411, firmware: RP-2.11.2-T
///     slot0 (id=2), user=DEMO-TEST: OK
///
/// Number of tested HSMs: 1 (number of partitions: 1)
/// Number of failures: 0
/// ```
///
/// A failed login prints the reason instead of `OK`; an HSM that could not
/// be connected to prints `FAILED: why` instead of its firmware (our form:
/// the vendor documents none).
pub(crate) fn test_text(report: &TestReport) -> String {
    let mut text = format!("Load config file: '{}'\n\n", report.config_file);
    for hsm in &report.hsms {
        let outcome = match &hsm.firmware {
            Ok(firmware) => format!("firmware: {firmware}"),
            Err(error) => format!("FAILED: {}", one_line(error)),
        };
        text.push_str(&format!(
            "{}: Connect to '{}' on port {}, {outcome}\n",
            hsm.hsm, hsm.host, hsm.port
        ));
        for slot in &hsm.slots {
            let outcome = match &slot.outcome {
                Ok(_) => "OK".to_owned(),
                Err(error) => one_line(error),
            };
            text.push_str(&format!(
                "    {} (id={}), user={}: {outcome}\n",
                slot.slot, slot.slot_id, slot.user
            ));
        }
        text.push('\n');
    }
    text.push_str(&format!(
        "Number of tested HSMs: {} (number of partitions: {})\nNumber of failures: {}\n",
        report.tested_hsms(),
        report.partitions(),
        report.failures()
    ));
    text
}

/// The JSON of `ppin -t`: per HSM and per slot, and the counts.
pub(crate) fn test_json(report: &TestReport) -> Value {
    let hsms: Vec<Value> = report
        .hsms
        .iter()
        .map(|hsm| {
            let slots: Vec<Value> = hsm
                .slots
                .iter()
                .map(|slot| {
                    let mut entry = json!({ "slot": slot.slot, "slot_id": slot.slot_id, "user": slot.user,
                                            "ok": slot.outcome.is_ok() });
                    match &slot.outcome {
                        Ok(served) => entry["served"] = json!(served),
                        Err(error) => entry["error"] = error_json(error),
                    }
                    entry
                })
                .collect();
            let mut entry = json!({ "hsm": hsm.hsm, "host": hsm.host, "port": hsm.port,
                                    "ok": hsm.firmware.is_ok(), "slots": slots });
            match &hsm.firmware {
                Ok(firmware) => entry["firmware"] = json!(firmware),
                Err(error) => entry["error"] = error_json(error),
            }
            entry
        })
        .collect();
    json!({ "ok": report.failures() == 0, "operation": "test", "config_file": report.config_file,
            "hsms": hsms, "tested_hsms": report.tested_hsms(), "partitions": report.partitions(),
            "failures": report.failures() })
}

/// `ppin -v`: the vendor's line for the provider version this tool emulates,
/// then what this tool really is, then each HSM's version.
pub(crate) fn version_text(versions: &[HsmVersion]) -> String {
    let mut text = format!(
        "Primus HSM PKCS#11 {EMULATED_PROVIDER}\n\
         ppin {} of terraform-provider-primus, standing in for the vendor's ppin of that provider version\n",
        ppin::VERSION
    );
    for hsm in versions {
        let outcome = match &hsm.outcome {
            Ok(version) => format!(
                "{} {} (protocol {})",
                version.product, version.version, version.protocol
            ),
            Err(error) => format!("unavailable: {error}"),
        };
        text.push_str(&format!("HSM {}: {outcome}\n", hsm.hsm));
    }
    text
}

/// The JSON of `ppin -v`.
pub(crate) fn version_json(versions: &[HsmVersion]) -> Value {
    let hsms: Vec<Value> = versions
        .iter()
        .map(|v| match &v.outcome {
            Ok(version) => json!({ "hsm": v.hsm.name, "address": format!("{}:{}", v.hsm.host, v.hsm.port), "ok": true,
                                   "product": version.product, "version": version.version, "protocol": version.protocol }),
            Err(error) => json!({ "hsm": v.hsm.name, "address": format!("{}:{}", v.hsm.host, v.hsm.port), "ok": false,
                                  "error": error_json(error) }),
        })
        .collect();
    json!({ "ok": hsms.iter().all(|h| h["ok"] == true), "operation": "version", "version": ppin::VERSION,
            "emulates": format!("Primus HSM PKCS#11 {EMULATED_PROVIDER}"), "hsms": hsms })
}
