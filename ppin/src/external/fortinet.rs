//! `ppin --fortinet` through the vendor's tool: the passwords are typed at
//! its prompts (never put on its command line), and what it prints after
//! `# Fortinet secret to be loaded:` is the base64 text, possibly wrapped.

use std::ffi::OsString;

use super::dialogue::{failure, proxy_answer, setup_answers};
use super::error::ExternalError;
use super::parse::ParseProblem;
use super::transport::Access;
use super::ExternalEngine;
use crate::engine::Engine;
use crate::error::PpinError;
use crate::model::{FortinetRequest, FORTINET_HEADER};
use crate::users;

impl ExternalEngine {
    /// See [`Engine::fortinet_secret`](crate::Engine::fortinet_secret).
    pub(super) async fn fortinet_document(
        &self,
        request: &FortinetRequest,
    ) -> Result<String, PpinError> {
        users::slot_user(&*self.config()?, &request.user)?;
        let mut args: Vec<OsString> = vec![
            "--fortinet".into(),
            "--user".into(),
            request.user.clone().into(),
        ];
        let [setup, pkcs11] = setup_answers(&request.user, &request.credentials);
        let mut answers = vec![setup, pkcs11];
        if let Some(proxy) = &request.proxy {
            args.extend(["--proxyuser".into(), proxy.proxy_user.clone().into()]);
            answers.push(proxy_answer(&proxy.proxy_user, &proxy.password));
        }
        let (finished, command) = self.run(&args, &answers, Access::Read).await?;
        if !finished.status.success() {
            return Err(failure(command, finished).into());
        }
        encoded_secret(&finished.lines).map_err(|problem| {
            PpinError::External(ExternalError::Unexpected {
                command,
                problem,
                output: finished.lines,
            })
        })
    }
}

/// The base64 text after the header line, its lines joined.
pub(crate) fn encoded_secret(lines: &[String]) -> Result<String, ParseProblem> {
    let missing =
        || ParseProblem::MissingLine(format!("{FORTINET_HEADER:?} followed by the base64 text"));
    let at = lines
        .iter()
        .position(|l| l.trim_end() == FORTINET_HEADER)
        .ok_or_else(missing)?;
    let mut text = String::new();
    for (index, line) in lines.iter().enumerate().skip(at + 1) {
        let line = line.trim();
        let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
        if !line.chars().all(base64) {
            return Err(ParseProblem::Malformed {
                number: index + 1,
                line: line.to_owned(),
            });
        }
        text.push_str(line);
    }
    if text.is_empty() {
        return Err(missing());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_after_the_header() {
        let lines: Vec<String> = ["noise", FORTINET_HEADER, "dmVyc2lvbiA9", "ICIxLjAiOwo=", ""]
            .iter()
            .map(|l| (*l).to_owned())
            .collect();
        assert_eq!(encoded_secret(&lines).unwrap(), "dmVyc2lvbiA9ICIxLjAiOwo=");
        assert!(encoded_secret(&lines[..2]).is_err());
        let broken = [FORTINET_HEADER.to_owned(), "not base64!".to_owned()];
        assert!(matches!(
            encoded_secret(&broken),
            Err(ParseProblem::Malformed { number: 2, .. })
        ));
    }
}
