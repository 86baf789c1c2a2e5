//! The report `ppin -t`/`--test` prints (provider 1.8.1+), read strictly.
//! The grammar, as the vendor's pages show it (blank lines anywhere, blanks
//! at the ends of lines ignored):
//!
//! ```text
//! Load config file: '<primus.cfg>'
//! <hsm>: Connect to '<host>' on port <port>, firmware: <firmware>
//! <hsm>: Connect to <host> port <port>, firmware: <firmware>      (older tools)
//! <hsm>: Connect to '<host>' on port <port>, FAILED: <why>         (our stand-in; undocumented)
//!     <slot> (id=<id>), user=<user>: OK | <why>                     (indented, under its HSM)
//! Number of tested HSMs: <n> (number of partitions: <m>)
//! Number of failures: <f>
//! ```
//!
//! The summary must agree with the lines above it (HSMs, slots, failed
//! HSMs plus failed slots). Any other line is an error that quotes it.

use super::parse::ParseProblem;

/// One `<slot> (id=<id>), user=<user>: <outcome>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotLine {
    pub(crate) slot: String,
    pub(crate) slot_id: u32,
    pub(crate) user: String,
    /// `None` for `OK`, else what the tool printed instead.
    pub(crate) failure: Option<String>,
}

/// One HSM line and the slot lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HsmBlock {
    pub(crate) hsm: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The firmware, or why the connection failed.
    pub(crate) firmware: Result<String, String>,
    pub(crate) slots: Vec<SlotLine>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestLines {
    pub(crate) config_file: String,
    pub(crate) hsms: Vec<HsmBlock>,
}

/// The printed summary: HSMs, partitions, failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    hsms: usize,
    partitions: usize,
    failures: Option<usize>,
}

/// Reads a `ppin -t` report (see the module doc).
pub(crate) fn parse_report(lines: &[String]) -> Result<TestLines, ParseProblem> {
    let mut config_file = None;
    let mut hsms: Vec<HsmBlock> = Vec::new();
    let mut summary: Option<(usize, Summary)> = None;
    for (index, raw) in lines.iter().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let malformed = || ParseProblem::Malformed {
            number,
            line: raw.clone(),
        };
        if config_file.is_none() {
            let path = line
                .strip_prefix("Load config file: '")
                .and_then(|rest| rest.strip_suffix('\''))
                .ok_or_else(malformed)?;
            config_file = Some(path.to_owned());
            continue;
        }
        match &mut summary {
            None => {
                if let Some(rest) = line.strip_prefix("Number of tested HSMs: ") {
                    let counts = tested_counts(rest).ok_or_else(malformed)?;
                    summary = Some((number, counts));
                } else if line.starts_with(char::is_whitespace) {
                    let slot = slot_line(line.trim_start()).ok_or_else(malformed)?;
                    // A slot belongs to the HSM above it, which must have been reached.
                    match hsms.last_mut() {
                        Some(block) if block.firmware.is_ok() => block.slots.push(slot),
                        _ => return Err(malformed()),
                    }
                } else {
                    hsms.push(hsm_line(line).ok_or_else(malformed)?);
                }
            }
            Some((_, counts)) if counts.failures.is_none() => {
                let failures = line
                    .strip_prefix("Number of failures: ")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(malformed)?;
                counts.failures = Some(failures);
            }
            Some(_) => return Err(malformed()),
        }
    }
    let config_file = config_file.ok_or_else(|| missing("Load config file: '...'"))?;
    let (number, printed) = summary.ok_or_else(|| missing("Number of tested HSMs: ..."))?;
    if printed.failures.is_none() {
        return Err(missing("Number of failures: ..."));
    }
    let counted = Summary {
        hsms: hsms.len(),
        partitions: hsms.iter().map(|h| h.slots.len()).sum(),
        failures: Some(
            hsms.iter()
                .map(|h| {
                    usize::from(h.firmware.is_err())
                        + h.slots.iter().filter(|s| s.failure.is_some()).count()
                })
                .sum(),
        ),
    };
    if printed != counted {
        return Err(ParseProblem::Summary {
            number,
            counted: format!(
                "{} HSMs, {} partitions, {} failures",
                counted.hsms,
                counted.partitions,
                counted.failures.unwrap_or_default()
            ),
        });
    }
    Ok(TestLines { config_file, hsms })
}

fn missing(what: &str) -> ParseProblem {
    ParseProblem::MissingLine(format!("{what:?} in the test report"))
}

/// `<n> (number of partitions: <m>)`.
fn tested_counts(text: &str) -> Option<Summary> {
    let (hsms, rest) = text.split_once(" (number of partitions: ")?;
    let partitions = rest.strip_suffix(')')?;
    Some(Summary {
        hsms: hsms.parse().ok()?,
        partitions: partitions.parse().ok()?,
        failures: None,
    })
}

/// `<hsm>: Connect to ...` in any of the three forms of the module doc.
fn hsm_line(line: &str) -> Option<HsmBlock> {
    let (hsm, rest) = line.split_once(": Connect to ")?;
    if hsm.is_empty() || hsm.contains(char::is_whitespace) {
        return None;
    }
    let (host, rest) = match rest.strip_prefix('\'') {
        Some(quoted) => quoted.split_once("' on port ")?,
        None => rest.split_once(" port ")?,
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    let (port, rest) = rest.split_once(", ")?;
    let firmware = if let Some(firmware) = rest.strip_prefix("firmware: ") {
        Ok(firmware.to_owned())
    } else {
        Err(rest.strip_prefix("FAILED: ")?.to_owned())
    };
    if firmware.as_ref().is_ok_and(String::is_empty)
        || firmware.as_ref().is_err_and(String::is_empty)
    {
        return None;
    }
    Some(HsmBlock {
        hsm: hsm.to_owned(),
        host: host.to_owned(),
        port: port.parse().ok()?,
        firmware,
        slots: Vec::new(),
    })
}

/// `<slot> (id=<id>), user=<user>: <outcome>`, without its indent.
fn slot_line(line: &str) -> Option<SlotLine> {
    let (slot, rest) = line.split_once(" (id=")?;
    let (slot_id, rest) = rest.split_once("), user=")?;
    let (user, outcome) = rest.split_once(": ")?;
    if slot.is_empty()
        || slot.contains(char::is_whitespace)
        || user.is_empty()
        || outcome.is_empty()
    {
        return None;
    }
    Some(SlotLine {
        slot: slot.to_owned(),
        slot_id: slot_id.parse().ok()?,
        user: user.to_owned(),
        failure: (outcome != "OK").then(|| outcome.to_owned()),
    })
}

#[cfg(test)]
mod tests;
