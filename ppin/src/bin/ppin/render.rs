//! Output: the vendor's banner and slot lines, or one JSON document (`--json`).

use std::time::SystemTime;

use ppin::{HsmVersion, Listing, LoginTest, PpinError, PrimusConfig};
use serde_json::{json, Value};

/// The vendor's banner, printed before the slot lines.
pub(crate) const BANNER: &str =
    "********************\nPrimus Permanent PIN\n********************\n";

fn state(configured: bool) -> &'static str {
    if configured {
        "Configured"
    } else {
        "MISSING"
    }
}

/// Where the vendor's sample puts the `user` column: `slot-id 0:` and four blanks.
const SLOT_ID_WIDTH: usize = 14;

/// Blanks after the longest quoted name, before `permanent secret:`.
const NAME_GAP: usize = 2;

/// `text` padded with blanks to `width`, and at least one blank.
fn pad(text: String, width: usize) -> String {
    let blanks = width.saturating_sub(text.len()).max(1);
    text + &" ".repeat(blanks)
}

/// The widest of `names` once quoted, plus the gap.
fn name_width<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names.map(|name| name.len() + 2).max().unwrap_or(0) + NAME_GAP
}

/// The status lines of `ppin -l` as the vendor prints them: one per slot of
/// every HSM, numbered on (a redundant cluster's user once per HSM), then
/// one per service proxy user and HSM with a slot behind it, numbered on;
/// columns padded as in the vendor's sample. Only the lines of the names
/// `shown` selects are printed, with the numbers they have in the full list.
fn status_lines(listing: &Listing, config: &PrimusConfig, shown: impl Fn(&str) -> bool) -> String {
    let mut text = BANNER.to_owned();
    let user_width = name_width(listing.users.iter().map(|u| u.user.as_str()));
    let slots = config.slots().filter_map(|(_, slot)| {
        let status = listing.users.iter().find(|u| u.user == slot.user_name)?;
        Some((slot.slot_id, status))
    });
    for (index, (slot_id, status)) in slots.enumerate() {
        if shown(&status.user) {
            text.push_str(&format!(
                "[{:02}] {}user {}permanent secret: {}\n",
                index + 1,
                pad(format!("slot-id {slot_id}:"), SLOT_ID_WIDTH),
                pad(format!("'{}'", status.user), user_width),
                state(status.configured)
            ));
        }
    }
    let proxy_width = name_width(listing.proxies.iter().map(|p| p.proxy_user.as_str()));
    let proxies = config
        .proxy_slots()
        .into_iter()
        .filter_map(|(_, proxy)| listing.proxies.iter().find(|p| p.proxy_user == proxy));
    for (index, status) in proxies.enumerate() {
        if shown(&status.proxy_user) {
            text.push_str(&format!(
                "[{:02}] service/proxy user {}permanent secret: {}\n",
                index + 1,
                pad(format!("'{}'", status.proxy_user), proxy_width),
                state(status.configured)
            ));
        }
    }
    text
}

/// The full `ppin -l` text, also what `-a`, `-u` and `-p` print after their
/// prompts (as the vendor's samples show).
pub(crate) fn listing_text(listing: &Listing, config: &PrimusConfig) -> String {
    status_lines(listing, config, |_| true)
}

/// What `-r` and `-x` print: the banner and the lines of `name` (a slot user
/// or a service proxy user), numbered as in `ppin -l`.
pub(crate) fn target_text(listing: &Listing, config: &PrimusConfig, name: &str) -> String {
    status_lines(listing, config, |shown| shown == name)
}

/// One line per tested user: `[01] slot-id 0: user 'X' login: OK (hsm0 127.0.0.1:2310, hsm-sim 0.1.0)`.
pub(crate) fn test_text(listing: &Listing, results: &[LoginTest]) -> String {
    let mut text = BANNER.to_owned();
    for result in results {
        let index = listing
            .users
            .iter()
            .position(|u| u.user == result.user)
            .map_or(0, |i| i + 1);
        let outcome = match &result.outcome {
            Ok(served) => {
                let known = |part: &Option<String>| part.clone().unwrap_or_else(|| "?".to_owned());
                format!(
                    "OK ({} {}, {})",
                    known(&served.hsm),
                    known(&served.address),
                    known(&served.server)
                )
            }
            Err(error) => format!("FAILED: {error}"),
        };
        text.push_str(&format!(
            "[{index:02}] slot-id {}: user '{}' login: {outcome}\n",
            result.slot_id, result.user
        ));
    }
    text
}

/// `ppin -v`: this tool's version, then each HSM's.
pub(crate) fn version_text(versions: &[HsmVersion]) -> String {
    let mut text = format!("{BANNER}ppin version {}\n", ppin::VERSION);
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

/// A lockout end as RFC 3339 UTC text.
fn rfc3339(at: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The JSON form of an error: every part a script may act on.
pub(crate) fn error_json(error: &PpinError) -> Value {
    json!({
        "kind": error.kind(),
        "message": error.to_string(),
        "what": error.what(),
        "next_step": error.next_step(),
        "user": error.user(),
        "hsm": error.hsm().map(|h| h.name.clone()),
        "vendor_code": error.vendor_code().map(|c| c.to_string()),
        "attempts_left": error.attempts_left(),
        "locked_until": error.locked_until().and_then(rfc3339),
    })
}

/// `{"ok": true, "operation": ..., ...fields}`.
pub(crate) fn ok_json(operation: &str, fields: Value) -> Value {
    let mut document = json!({ "ok": true, "operation": operation });
    if let (Some(target), Value::Object(fields)) = (document.as_object_mut(), fields) {
        target.extend(fields);
    }
    document
}

/// `{"ok": false, "operation": ..., "error": {...}}`.
pub(crate) fn failed_json(operation: &str, error: &PpinError) -> Value {
    json!({ "ok": false, "operation": operation, "error": error_json(error) })
}

/// The JSON of `ppin -t`'s results.
pub(crate) fn test_json(results: &[LoginTest]) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(served) => json!({ "user": r.user, "slot_id": r.slot_id, "ok": true, "served": served }),
            Err(error) => json!({ "user": r.user, "slot_id": r.slot_id, "ok": false, "error": error_json(error) }),
        })
        .collect();
    json!({ "ok": results.iter().all(|r| r["ok"] == true), "operation": "test", "results": results })
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
    json!({ "ok": hsms.iter().all(|h| h["ok"] == true), "operation": "version", "version": ppin::VERSION, "hsms": hsms })
}
