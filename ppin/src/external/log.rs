//! `ppin --fetchlog` through the vendor's tool, and the grammar of what it
//! prints, as the vendor's PKCS#11 "ppin tool" page ("Fetch Partition
//! Log") documents it:
//!
//! ```text
//! Dump log starting from 2021-04-01 00:00 UTC
//! Fetching log from HSM.
//! Number of slots: 1
//! 2021 Apr  1 09:31:28 UTC NUFENEN notice MSCNG Process: Login request: User: DEMO-TEST Client: ... with setup password over TCP connection ...
//! ```
//!
//! The three header lines come first, in this order; every line after
//! them must be a log line (`YYYY Mon DD HH:MM:SS UTC HOST SEVERITY ...`,
//! the day padded with a blank as syslog does). Anything else is an error
//! that quotes it.

use std::ffi::OsString;

use time::macros::format_description;

use super::dialogue::failure;
use super::error::ExternalError;
use super::parse::ParseProblem;
use super::transport::Access;
use super::ExternalEngine;
use crate::engine::Engine;
use crate::error::PpinError;
use crate::model::{day, LogRequest, PartitionLog};
use crate::users;

const DUMP_FROM: &str = PartitionLog::DUMP_FROM;
const FETCHING: &str = PartitionLog::FETCHING;
const SLOTS: &str = PartitionLog::SLOTS;

impl ExternalEngine {
    /// `ppin --fetchlog --user U --hsm H [--since DATE] [--reverse]`. The
    /// user and the HSM are checked against `primus.cfg` first, so a typo
    /// starts no run.
    pub(super) async fn partition_log(
        &self,
        request: &LogRequest,
    ) -> Result<PartitionLog, PpinError> {
        users::log_source(&*self.config()?, request)?;
        let mut args: Vec<OsString> = vec![
            "--fetchlog".into(),
            "--user".into(),
            request.user.clone().into(),
            "--hsm".into(),
            request.hsm.clone().into(),
        ];
        if request.order == hsm_wire::LogOrder::NewestFirst {
            args.push("--reverse".into());
        }
        if let Some(since) = request.since {
            args.extend(["--since".into(), day(since).into()]);
        }
        let (finished, command) = self.run(&args, &[], Access::Read).await?;
        if !finished.status.success() {
            return Err(failure(command, finished).into());
        }
        parse_log(&finished.lines).map_err(|problem| {
            PpinError::External(ExternalError::Unexpected {
                command,
                problem,
                output: finished.lines,
            })
        })
    }
}

/// The output of `ppin --fetchlog`, per the grammar in the module doc.
/// Blank lines around the output (a terminal may add them) are ignored.
pub(crate) fn parse_log(lines: &[String]) -> Result<PartitionLog, ParseProblem> {
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return Err(ParseProblem::MissingLine(format!("starting {DUMP_FROM:?}")));
    };
    let mut rest = lines[first..=last].iter().map(String::as_str);
    let since = match rest.next() {
        Some(line) if line.starts_with(DUMP_FROM) => parse_header_date(&line[DUMP_FROM.len()..]),
        _ => return Err(ParseProblem::MissingLine(format!("starting {DUMP_FROM:?}"))),
    };
    match rest.next() {
        Some(line) if line.trim_end() == FETCHING => {}
        _ => return Err(ParseProblem::MissingLine(format!("{FETCHING:?}"))),
    }
    let slots = match rest.next() {
        Some(line) => line
            .strip_prefix(SLOTS)
            .and_then(|count| count.trim_end().parse::<usize>().ok()),
        None => None,
    }
    .ok_or_else(|| ParseProblem::MissingLine(format!("{SLOTS:?} with a count")))?;
    let mut log = Vec::new();
    for line in rest {
        if !is_log_line(line) {
            return Err(ParseProblem::NotALogLine(line.to_owned()));
        }
        log.push(line.to_owned());
    }
    Ok(PartitionLog::new(since, slots, log))
}

/// `2021-04-01 00:00 UTC` as a date; `None` for anything else (the vendor
/// documents no header for a dump without `--since`, so its text is kept
/// as no date rather than refused).
fn parse_header_date(text: &str) -> Option<time::Date> {
    LogRequest::parse_day(text.trim_end().strip_suffix(" 00:00 UTC")?)
}

/// `YYYY Mon DD HH:MM:SS UTC HOST SEVERITY REST`, the day padded with a blank.
pub(crate) fn is_log_line(line: &str) -> bool {
    let Some((stamp, rest)) = line.split_at_checked(25) else {
        return false;
    };
    let stamp_ok = time::PrimitiveDateTime::parse(
        &stamp.replacen("  ", " 0", 1),
        format_description!("[year] [month repr:short] [day] [hour]:[minute]:[second] UTC "),
    )
    .is_ok();
    let mut fields = rest.split(' ');
    let host = fields.next().is_some_and(|f| !f.is_empty());
    let severity = fields.next().is_some_and(|f| !f.is_empty());
    stamp_ok && host && severity && fields.next().is_some_and(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn log_lines_follow_the_syslog_shape() {
        assert!(is_log_line(
            "2021 Apr  1 09:31:28 UTC NUFENEN notice MSCNG Process: Login request: User: DEMO-TEST"
        ));
        assert!(is_log_line(
            "2026 Dec 17 19:01:02 UTC HSMSIM info PKCS11 Process: x"
        ));
        for bad in [
            "...",
            "",
            "2021 Apr 1 09:31:28 UTC NUFENEN notice MSCNG x",
            "2021 Foo  1 09:31:28 UTC NUFENEN notice MSCNG x",
            "2021 Apr  1 09:31:28 CET NUFENEN notice MSCNG x",
            "2021 Apr  1 09:31:28 UTC NUFENEN notice",
        ] {
            assert!(!is_log_line(bad), "{bad:?}");
        }
    }

    #[test]
    fn header_then_lines() {
        let log = parse_log(&owned(&[
            "Dump log starting from 2021-04-01 00:00 UTC",
            "Fetching log from HSM.",
            "Number of slots: 1",
            "2021 Apr  1 09:31:28 UTC NUFENEN notice MSCNG Process: Login request: x",
        ]))
        .unwrap();
        assert_eq!(log.since, Some(time::macros::date!(2021 - 04 - 01)));
        assert_eq!(log.slots, 1);
        assert_eq!(log.lines.len(), 1);
        let empty = parse_log(&owned(&[
            "Dump log starting from 2021-04-01 00:00 UTC",
            "Fetching log from HSM.",
            "Number of slots: 2",
        ]))
        .unwrap();
        assert_eq!((empty.slots, empty.lines.len()), (2, 0));
    }

    #[test]
    fn what_does_not_fit_is_quoted() {
        let missing = parse_log(&owned(&["Fetching log from HSM."])).unwrap_err();
        assert!(matches!(missing, ParseProblem::MissingLine(_)));
        let stray = parse_log(&owned(&[
            "Dump log starting from 2021-04-01 00:00 UTC",
            "Fetching log from HSM.",
            "Number of slots: 1",
            "error: something else",
        ]))
        .unwrap_err();
        assert_eq!(
            stray.to_string(),
            "not a partition log line: \"error: something else\""
        );
    }
}
