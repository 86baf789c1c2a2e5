//! The documented output of a vendor-compatible `ppin`, read strictly: the
//! banner, the status lines, the login lines, vendor codes. A line that looks
//! like a status line but is not one is an error, never a guess; other lines
//! (progress text, blank lines, the prompts) are passed over.
//!
//! The status lines, as the vendor's pages print them (any run of blanks,
//! spaces or tabs, between two fields; blanks at the end are ignored):
//!
//! ```text
//! [NN] slot-id N: user 'NAME' permanent secret: Configured|MISSING
//! [NN] service/proxy user 'NAME' permanent secret: Configured|MISSING
//! ```
//!
//! A redundant cluster is listed once per HSM, so one name may come on
//! several lines; folding them into one state is the caller's business
//! (`cluster`).

use hsm_wire::VendorCode;

/// The three lines of the vendor's banner.
const BANNER: [&str; 3] = [
    "********************",
    "Primus Permanent PIN",
    "********************",
];

/// Whether `line` is one of the banner's lines.
pub(crate) fn is_banner_line(line: &str) -> bool {
    BANNER.contains(&line)
}

/// Where the tool's prompts start; the rest of such a line is the prompt.
const PROMPT_START: &str = "Provide ";

/// `[NN] slot-id N: user 'X' permanent secret: Configured|MISSING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserLine {
    /// 1-based number of the line in the output.
    pub(crate) number: usize,
    pub(crate) slot_id: u32,
    pub(crate) user: String,
    pub(crate) configured: bool,
}

/// `[NN] service/proxy user 'X'  permanent secret: Configured|MISSING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyLine {
    /// 1-based number of the line in the output.
    pub(crate) number: usize,
    pub(crate) proxy_user: String,
    pub(crate) configured: bool,
}

/// `[NN] slot-id N: user 'X' login: OK (...)` or `... login: FAILED: why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginLine {
    pub(crate) slot_id: u32,
    pub(crate) user: String,
    /// `None` when the login worked, else the tool's reason.
    pub(crate) failure: Option<String>,
}

/// Everything understood in one run's output.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// Complete banners seen.
    pub(crate) banners: usize,
    /// Prompts seen.
    pub(crate) prompts: usize,
    /// Whether a banner came before the first prompt.
    pub(crate) banner_before_prompts: bool,
    /// Whether a banner came after the last prompt (before the results).
    pub(crate) banner_after_prompts: bool,
    pub(crate) users: Vec<UserLine>,
    pub(crate) proxies: Vec<ProxyLine>,
    pub(crate) logins: Vec<LoginLine>,
}

/// Why output could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseProblem {
    /// A line shaped like a status line (`[NN] ...`) that is none of the documented ones.
    #[error("line {number} is not a documented status line: {line:?}")]
    Malformed {
        /// 1-based line number.
        number: usize,
        /// The line.
        line: String,
    },
    /// Part of the banner without the rest.
    #[error("line {number} is a broken banner")]
    BrokenBanner {
        /// 1-based line number.
        number: usize,
    },
    /// No banner where the vendor prints one.
    #[error("the banner is missing {0}")]
    NoBanner(&'static str),
    /// The line this operation must print is not there, or says the wrong state.
    #[error("no line {0}")]
    MissingLine(String),
    /// The summary of a `ppin -t` report disagrees with the lines above it.
    #[error("line {number}: the summary disagrees with the report above it ({counted})")]
    Summary {
        /// 1-based line number of `Number of tested HSMs`.
        number: usize,
        /// What the report's lines count.
        counted: String,
    },
    /// In `ppin --fetchlog`'s output, a line after the header that is not a
    /// log line (`YYYY Mon DD HH:MM:SS UTC HOST SEVERITY ...`). Only the line:
    /// a number beside it would make every `ExternalError` larger.
    #[error("not a partition log line: {0:?}")]
    NotALogLine(String),
}

/// Splits raw terminal bytes into lines, dropping the `\r` a pty adds.
pub(crate) fn lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The first vendor code in `lines`, of any class.
pub(crate) fn vendor_code(lines: &[String]) -> Option<VendorCode> {
    lines.iter().find_map(|line| VendorCode::find_in(line))
}

/// Reads `lines` strictly (see the module doc).
pub(crate) fn parse(lines: &[String]) -> Result<Report, ParseProblem> {
    let mut report = Report::default();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].as_str();
        let number = index + 1;
        if line == BANNER[0] {
            let rest = lines.get(index + 1..index + 3);
            if rest.is_none_or(|rest| rest[0] != BANNER[1] || rest[1] != BANNER[2]) {
                return Err(ParseProblem::BrokenBanner { number });
            }
            report.banners += 1;
            if report.prompts == 0 {
                report.banner_before_prompts = true;
            }
            report.banner_after_prompts = report.prompts > 0;
            index += 3;
            continue;
        }
        if line == BANNER[1] {
            return Err(ParseProblem::BrokenBanner { number });
        }
        if line.starts_with(PROMPT_START) && line.contains(" password for '") {
            report.prompts += 1;
            report.banner_after_prompts = false;
        } else if line.starts_with('[') {
            status_line(line, number, &mut report).ok_or_else(|| ParseProblem::Malformed {
                number,
                line: line.to_owned(),
            })?;
        }
        index += 1;
    }
    Ok(report)
}

/// Adds one `[NN] ...` line (line `number` of the output) to `report`;
/// `None` if it is not a documented one.
fn status_line(line: &str, number: usize, report: &mut Report) -> Option<()> {
    let (index, rest) = line.strip_prefix('[')?.split_once(']')?;
    if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rest = after_blanks(rest)?;
    if let Some(rest) = rest.strip_prefix("service/proxy") {
        let rest = word(after_blanks(rest)?, "user")?;
        let (proxy_user, configured) = quoted_name_and_state(rest)?;
        report.proxies.push(ProxyLine {
            number,
            proxy_user,
            configured,
        });
        return Some(());
    }
    let rest = word(rest, "slot-id")?;
    let (slot, rest) = rest.split_once(':')?;
    let slot_id = slot.parse().ok()?;
    let rest = word(after_blanks(rest)?, "user")?;
    if let Some((user, configured)) = quoted_name_and_state(rest) {
        report.users.push(UserLine {
            number,
            slot_id,
            user,
            configured,
        });
        return Some(());
    }
    let (user, outcome) = rest.strip_prefix('\'')?.split_once("' login: ")?;
    let failure = if outcome == "OK" || outcome.starts_with("OK (") {
        None
    } else {
        Some(outcome.strip_prefix("FAILED: ")?.to_owned())
    };
    report.logins.push(LoginLine {
        slot_id,
        user: name(user)?,
        failure,
    });
    Some(())
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// `text` after a run of at least one blank.
fn after_blanks(text: &str) -> Option<&str> {
    let rest = text.trim_start_matches(is_blank);
    (rest.len() < text.len()).then_some(rest)
}

/// `text` after `expected` and a run of blanks.
fn word<'t>(text: &'t str, expected: &str) -> Option<&'t str> {
    after_blanks(text.strip_prefix(expected)?)
}

/// `'NAME' permanent secret: STATE`, blanks between the fields: the name
/// is what lies between the first quote and the last quote before them.
fn quoted_name_and_state(text: &str) -> Option<(String, bool)> {
    let text = text.trim_end_matches(is_blank).strip_prefix('\'')?;
    let (rest, state) = text.rsplit_once(is_blank)?;
    let rest = rest.trim_end_matches(is_blank).strip_suffix("secret:")?;
    let rest = rest.strip_suffix(is_blank)?.trim_end_matches(is_blank);
    let rest = rest.strip_suffix("permanent")?;
    let quoted = rest.strip_suffix(is_blank)?.trim_end_matches(is_blank);
    Some((name(quoted.strip_suffix('\'')?)?, state_of(state)?))
}

fn name(text: &str) -> Option<String> {
    (!text.is_empty() && !text.contains('\'')).then(|| text.to_owned())
}

fn state_of(text: &str) -> Option<bool> {
    match text {
        "Configured" => Some(true),
        "MISSING" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
