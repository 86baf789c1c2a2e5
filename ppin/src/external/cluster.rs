//! The status lines of one run folded into one state per user and per
//! service proxy. The vendor's tool prints a redundant cluster's user once
//! per HSM (and a proxy once per HSM with a slot behind it): a name is
//! Configured only if every one of its lines says so, and lines that
//! disagree are an error naming the HSMs, never a pick.
//!
//! Which HSM a line belongs to is not printed. It is read from `primus.cfg`
//! (the tool lists HSM by HSM, slot by slot, in file order) only when the
//! lines follow that order exactly; otherwise a line is named by its number
//! in the output.

use super::parse::{ProxyLine, Report, UserLine};
use crate::config::PrimusConfig;

/// One name's state, from all of its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Folded {
    pub(crate) name: String,
    /// The slot id of its first line (proxies have none: 0).
    pub(crate) slot_id: u32,
    pub(crate) configured: bool,
}

/// The users and proxies of one run, each once, in order of first line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cluster {
    pub(crate) users: Vec<Folded>,
    pub(crate) proxies: Vec<Folded>,
}

impl Cluster {
    pub(crate) fn user(&self, name: &str) -> Option<&Folded> {
        self.users.iter().find(|u| u.name == name)
    }

    pub(crate) fn proxy(&self, name: &str) -> Option<&Folded> {
        self.proxies.iter().find(|p| p.name == name)
    }
}

/// The lines of one name that disagree, as
/// [`ExternalError::Disagree`](crate::ExternalError::Disagree) reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disagreement {
    /// `user` or `service proxy user`.
    pub role: &'static str,
    /// The user (or service proxy user) whose lines disagree.
    pub name: String,
    /// The HSMs (`hsm0`) whose lines say Configured, or the lines (`line 4`)
    /// where `primus.cfg` cannot tell the HSM.
    pub configured_on: Vec<String>,
    /// Those that say MISSING.
    pub missing_on: Vec<String>,
}

/// A status line as the fold sees it.
struct Line<'a> {
    number: usize,
    name: &'a str,
    slot_id: u32,
    configured: bool,
}

impl<'a> From<&'a UserLine> for Line<'a> {
    fn from(line: &'a UserLine) -> Self {
        Line {
            number: line.number,
            name: &line.user,
            slot_id: line.slot_id,
            configured: line.configured,
        }
    }
}

impl<'a> From<&'a ProxyLine> for Line<'a> {
    fn from(line: &'a ProxyLine) -> Self {
        Line {
            number: line.number,
            name: &line.proxy_user,
            slot_id: 0,
            configured: line.configured,
        }
    }
}

/// Folds `report`'s lines; `config` (when it could be read) names the HSMs.
pub(crate) fn fold(
    report: &Report,
    config: Option<&PrimusConfig>,
) -> Result<Cluster, Disagreement> {
    let users: Vec<Line<'_>> = report.users.iter().map(Line::from).collect();
    let proxies: Vec<Line<'_>> = report.proxies.iter().map(Line::from).collect();
    let user_layout: Option<Vec<(&str, &str)>> = config.map(|c| {
        c.slots()
            .map(|(hsm, user)| (hsm.name.as_str(), user.user_name.as_str()))
            .collect()
    });
    let proxy_layout: Option<Vec<(&str, &str)>> = config.map(|c| {
        c.proxy_slots()
            .into_iter()
            .map(|(hsm, proxy)| (hsm.name.as_str(), proxy))
            .collect()
    });
    Ok(Cluster {
        users: fold_lines(&users, user_layout.as_deref(), "user")?,
        proxies: fold_lines(&proxies, proxy_layout.as_deref(), "service proxy user")?,
    })
}

fn fold_lines(
    lines: &[Line<'_>],
    layout: Option<&[(&str, &str)]>,
    role: &'static str,
) -> Result<Vec<Folded>, Disagreement> {
    let places = places(lines, layout);
    let mut folded: Vec<Folded> = Vec::new();
    for line in lines {
        if folded.iter().any(|f| f.name == line.name) {
            continue;
        }
        let own: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].name == line.name)
            .collect();
        let (configured_on, missing_on): (Vec<usize>, Vec<usize>) =
            own.into_iter().partition(|&i| lines[i].configured);
        if !configured_on.is_empty() && !missing_on.is_empty() {
            let named =
                |indexes: Vec<usize>| indexes.into_iter().map(|i| places[i].clone()).collect();
            return Err(Disagreement {
                role,
                name: line.name.to_owned(),
                configured_on: named(configured_on),
                missing_on: named(missing_on),
            });
        }
        folded.push(Folded {
            name: line.name.to_owned(),
            slot_id: line.slot_id,
            configured: line.configured,
        });
    }
    Ok(folded)
}

/// Where each line comes from: the HSM of `layout` when the lines are
/// exactly `layout`'s entries for the names they show, in its order (a run
/// that prints only some names prints them the same way); else `line N`.
fn places(lines: &[Line<'_>], layout: Option<&[(&str, &str)]>) -> Vec<String> {
    let expected: Option<Vec<&(&str, &str)>> = layout.map(|layout| {
        layout
            .iter()
            .filter(|(_, name)| lines.iter().any(|l| l.name == *name))
            .collect()
    });
    match expected {
        Some(expected)
            if expected.len() == lines.len()
                && expected
                    .iter()
                    .zip(lines)
                    .all(|((_, name), l)| *name == l.name) =>
        {
            expected.iter().map(|(hsm, _)| (*hsm).to_owned()).collect()
        }
        _ => lines.iter().map(|l| format!("line {}", l.number)).collect(),
    }
}

#[cfg(test)]
mod tests;
