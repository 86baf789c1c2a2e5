//! Output: the vendor's banner and slot lines, or one JSON document (`--json`).

use std::time::SystemTime;

use ppin::{HsmVersion, Listing, LoginTest, PpinError, ProxyStatus, UserStatus};
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

/// `[01] slot-id 0: user 'X' permanent secret: Configured`; `index` counts from 1.
pub(crate) fn user_line(index: usize, user: &UserStatus) -> String {
    format!(
        "[{index:02}] slot-id {}: user '{}' permanent secret: {}",
        user.slot_id,
        user.user,
        state(user.configured)
    )
}

/// `[01] service/proxy user 'NAME'  permanent secret: MISSING` (two spaces, as the vendor prints).
pub(crate) fn proxy_line(index: usize, proxy: &ProxyStatus) -> String {
    format!(
        "[{index:02}] service/proxy user '{}'  permanent secret: {}",
        proxy.proxy_user,
        state(proxy.configured)
    )
}

/// The full `ppin -l` text.
pub(crate) fn listing_text(listing: &Listing) -> String {
    let mut text = BANNER.to_owned();
    for (index, user) in listing.users.iter().enumerate() {
        text.push_str(&user_line(index + 1, user));
        text.push('\n');
    }
    for (index, proxy) in listing.proxies.iter().enumerate() {
        text.push_str(&proxy_line(index + 1, proxy));
        text.push('\n');
    }
    text
}

/// The banner and the line of the one item `pick` selects, numbered by its
/// position as in `ppin -l`.
fn one_line<T>(items: &[T], pick: impl Fn(&T) -> bool, line: fn(usize, &T) -> String) -> String {
    let mut text = BANNER.to_owned();
    if let Some((index, item)) = items.iter().enumerate().find(|(_, item)| pick(item)) {
        text.push_str(&line(index + 1, item));
        text.push('\n');
    }
    text
}

/// The banner and the line of one user, numbered as in `ppin -l`.
pub(crate) fn user_text(listing: &Listing, user: &str) -> String {
    one_line(&listing.users, |u| u.user == user, user_line)
}

/// The banner and the line of one service proxy user, numbered as in `ppin -l`.
pub(crate) fn proxy_text(listing: &Listing, proxy_user: &str) -> String {
    one_line(&listing.proxies, |p| p.proxy_user == proxy_user, proxy_line)
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
