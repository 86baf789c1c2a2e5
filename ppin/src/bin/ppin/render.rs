//! Output: the vendor's banner and slot lines, or one JSON document (`--json`).

use std::time::SystemTime;

use ppin::{Listing, PpinError, ProxyStatus, UserStatus};
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
