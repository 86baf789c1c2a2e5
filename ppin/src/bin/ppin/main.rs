//! `ppin`: the Primus Permanent PIN tool, flag for flag as the vendor's.
//!
//! ```text
//! ppin -h | -v | -l                         help, version, list
//! -c <path to primus.cfg>   -s <path to .secrets.cfg>
//! ppin -a -e <user> [<setup pwd> <pkcs11 pwd>]   add permanent secret
//! ppin -u -e <user> [<setup pwd> <pkcs11 pwd>]   update permanent secret
//! ppin -r -e <user>                              remove permanent secret
//! ppin -p -e <proxy user> [proxy pwd]            add service proxy password
//! ppin -x -e <proxy user>                        remove service proxy password
//! ppin {-t | --test} [--user U] [--hsm H] [--slot S] [--slotid N]   test report
//! ```
//!
//! Plus `--json` (one JSON document on stdout) and `--completions SHELL`.
//! Exit status: 0 on success, 1 on any failure, 2 on a bad command line.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod args;
mod fetchlog;
mod prompt;
mod render;
mod test_report;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use ppin::{
    Fetch, FortinetRequest, Ppin, PpinError, PrimusConfig, ProxyLogin, SetupCredentials,
    TestFilter, FORTINET_HEADER,
};
use secrets_cfg::KeySource;
use serde_json::{json, Value};

use crate::args::{Action, Args};
use crate::prompt::Asked;

/// What a finished command prints on stdout, and whether it succeeded.
struct Report {
    text: String,
    json: Value,
    ok: bool,
}

impl Report {
    fn ok(text: String, json: Value) -> Self {
        Report {
            text,
            json,
            ok: true,
        }
    }
}

/// A failure before or during the operation, printed on stderr.
enum Failure {
    Ppin(PpinError),
    /// Reading a password or starting the runtime failed.
    Other(String),
}

impl From<PpinError> for Failure {
    fn from(error: PpinError) -> Self {
        Failure::Ppin(error)
    }
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => return usage_error(error),
    };
    let action = match args.action() {
        Ok(action) => action,
        Err(usage) => {
            return usage_error(
                Args::command().error(clap::error::ErrorKind::ArgumentConflict, usage),
            )
        }
    };
    let operation = operation_name(&action);
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(&args, action)),
        Err(error) => Err(Failure::Other(format!(
            "cannot start the async runtime: {error}"
        ))),
    };
    finish(&args, operation, outcome)
}

/// Exit status of a bad command line.
const USAGE_EXIT: u8 = 2;

/// Prints a command-line error as `ppin: error: ...` (and, with `--json`, as a
/// JSON document on stdout) and exits 2; `-h` and its output are not errors.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if error.kind() == ErrorKind::DisplayHelp {
        // Help goes to stdout with status 0, as clap prints it.
        error.exit()
    }
    let rendered = error.render().to_string();
    // clap starts its text with "error: "; ours carries the tool's name first.
    let message = rendered.trim_end().trim_start_matches("error: ").to_owned();
    eprintln!("ppin: error: {message}");
    // The command line did not parse, so `--json` is looked for in the raw arguments.
    if std::env::args_os().any(|arg| arg == "--json") {
        let first_line = message.lines().next().unwrap_or_default();
        println!(
            "{}",
            json!({ "ok": false, "operation": null,
                    "error": { "kind": "usage", "message": first_line } })
        );
    }
    ExitCode::from(USAGE_EXIT)
}

fn operation_name(action: &Action) -> &'static str {
    match action {
        Action::Add { .. } => "add",
        Action::Update { .. } => "update",
        Action::Remove { .. } => "remove",
        Action::ProxyAdd { .. } => "proxy_add",
        Action::ProxyRemove { .. } => "proxy_remove",
        Action::List => "list",
        Action::Test(_) => "test",
        Action::Version => "version",
        Action::Completions(_) => "completions",
        Action::FetchLog { .. } => "fetch_log",
        Action::Fortinet { .. } => "fortinet",
    }
}

/// Prints the report (or the failure) and picks the exit status.
fn finish(args: &Args, operation: &str, outcome: Result<Report, Failure>) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let (printed, ok) = match &outcome {
        Ok(report) if args.json => (writeln!(stdout, "{}", report.json), report.ok),
        Ok(report) => (write!(stdout, "{}", report.text), report.ok),
        Err(failure) => {
            let message = match failure {
                Failure::Ppin(error) => error.to_string(),
                Failure::Other(message) => message.clone(),
            };
            eprintln!("ppin: error: {message}");
            let printed = if args.json {
                let error = match failure {
                    Failure::Ppin(error) => render::failed_json(operation, error),
                    Failure::Other(message) => {
                        json!({ "ok": false, "operation": operation, "error": { "kind": "input", "message": message } })
                    }
                };
                writeln!(stdout, "{error}")
            } else {
                Ok(())
            };
            (printed, false)
        }
    };
    if printed.and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn open(args: &Args) -> Result<Ppin, Failure> {
    Ok(Ppin::open(
        args.primus_cfg.as_deref(),
        args.secrets_cfg.as_deref(),
        KeySource::Default,
    )?)
}

fn prompt_failure(error: prompt::PromptError) -> Failure {
    Failure::Other(error.to_string())
}

async fn run(args: &Args, action: Action) -> Result<Report, Failure> {
    match action {
        Action::Add { user } => obtain(args, &user, Fetch::Add).await,
        Action::Update { user } => obtain(args, &user, Fetch::Update).await,
        Action::Remove { user } => {
            let ppin = open(args)?;
            let removed = ppin.remove(&user).await?;
            user_report(&ppin, &user, "remove", json!({ "removed": removed })).await
        }
        Action::ProxyAdd { user } => proxy_add(args, &user).await,
        Action::ProxyRemove { user } => {
            let ppin = open(args)?;
            let removed = ppin.proxy_remove(&user).await?;
            proxy_report(&ppin, &user, "proxy_remove", json!({ "removed": removed })).await
        }
        Action::List => {
            let ppin = open(args)?;
            let listing = ppin.list().await?;
            Ok(Report::ok(
                render::listing_text(&listing, &*ppin.config()?),
                render::ok_json("list", json!(listing)),
            ))
        }
        Action::Test(filter) => test(args, &filter).await,
        Action::Version => version(args).await,
        Action::Completions(shell) => Ok(completions(shell)),
        Action::FetchLog { request, out } => {
            let log = open(args)?.fetch_log(&request).await?;
            if let Some(path) = &out {
                fetchlog::write_lines(path, &log).map_err(Failure::Other)?;
            }
            Ok(Report::ok(
                fetchlog::text(&log, out.is_none()),
                render::ok_json("fetch_log", fetchlog::json(&log, out.as_deref())),
            ))
        }
        Action::Fortinet { user, proxy_user } => fortinet(args, &user, proxy_user).await,
    }
}

/// `-a`/`-u`: local checks, then the banner and the prompts (as the vendor
/// prints them), then the HSM.
async fn obtain(args: &Args, user: &str, how: Fetch) -> Result<Report, Failure> {
    let ppin = open(args)?;
    // Refuse what would fail anyway before asking for passwords.
    match how {
        Fetch::Add => ppin.check_add(user).await?,
        Fetch::Update => ppin.check_update(user).await?,
    }
    let mut given = args.passwords.iter().cloned();
    banner_before_prompts(args, 2);
    let setup = prompt::password(&mut given, Asked::Setup, user).map_err(prompt_failure)?;
    let pkcs11 = prompt::password(&mut given, Asked::Pkcs11, user).map_err(prompt_failure)?;
    let credentials = SetupCredentials::new(setup, pkcs11);
    let (served, operation) = match how {
        Fetch::Add => (ppin.add(user, &credentials).await?, "add"),
        Fetch::Update => (ppin.update(user, &credentials).await?, "update"),
    };
    user_report(&ppin, user, operation, json!({ "served": served })).await
}

/// `-p`: the proxy password, prompted for after the banner when not given.
async fn proxy_add(args: &Args, user: &str) -> Result<Report, Failure> {
    let ppin = open(args)?;
    ppin.proxy_user(user)?;
    let mut given = args.passwords.iter().cloned();
    banner_before_prompts(args, 1);
    let password = prompt::password(&mut given, Asked::Proxy, user).map_err(prompt_failure)?;
    ppin.proxy_add(user, &password).await?;
    proxy_report(&ppin, user, "proxy_add", json!({})).await
}

/// `--fortinet`: the user checked first, then the passwords not given
/// prompted for (no echo), then the HSM; prints the header and the
/// base64 text on one line.
async fn fortinet(args: &Args, user: &str, proxy_user: Option<String>) -> Result<Report, Failure> {
    let ppin = open(args)?;
    ppin.user(user)?;
    let mut given = args.passwords.iter().cloned();
    let setup = prompt::password(&mut given, Asked::Setup, user).map_err(prompt_failure)?;
    let pkcs11 = prompt::password(&mut given, Asked::Pkcs11, user).map_err(prompt_failure)?;
    let proxy = match proxy_user {
        Some(proxy_user) => {
            let mut given = args.proxy_password.iter().cloned();
            let password =
                prompt::password(&mut given, Asked::Proxy, &proxy_user).map_err(prompt_failure)?;
            Some(ProxyLogin {
                proxy_user,
                password,
            })
        }
        None => None,
    };
    let request = FortinetRequest::new(user, SetupCredentials::new(setup, pkcs11), proxy);
    let encoded = ppin.fortinet_secret(&request).await?;
    Ok(Report::ok(
        format!("{FORTINET_HEADER}\n{encoded}\n"),
        render::ok_json(
            "fortinet",
            json!({ "user": user, "secret_content": encoded }),
        ),
    ))
}

/// The vendor prints its banner before the prompts and again with the
/// result; in text mode, so do we when at least one of `needed` passwords
/// will be prompted for.
fn banner_before_prompts(args: &Args, needed: usize) {
    if !args.json && args.passwords.len() < needed {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout shows at the final report, which reports it.
        let _ = stdout
            .write_all(render::BANNER.as_bytes())
            .and_then(|()| stdout.flush());
    }
}

/// `-t`/`--test`: the report, failing (exit 1) when any HSM or slot failed.
async fn test(args: &Args, filter: &TestFilter) -> Result<Report, Failure> {
    let report = open(args)?.test(filter).await?;
    Ok(Report {
        text: test_report::test_text(&report),
        json: test_report::test_json(&report),
        ok: report.failures() == 0,
    })
}

async fn version(args: &Args) -> Result<Report, Failure> {
    // With no primus.cfg anywhere there is no HSM to ask, and the tool's
    // own version is still worth printing; a file named by -c must exist.
    if args.primus_cfg.is_none() && !PrimusConfig::locate(None).is_file() {
        return Ok(Report::ok(
            test_report::version_text(&[]),
            test_report::version_json(&[]),
        ));
    }
    let versions = open(args)?.versions().await?.hsms;
    let ok = versions.iter().all(|v| v.outcome.is_ok());
    Ok(Report {
        text: test_report::version_text(&versions),
        json: test_report::version_json(&versions),
        ok,
    })
}

fn completions(shell: clap_complete::Shell) -> Report {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Args::command(), "ppin", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    let json = render::ok_json(
        "completions",
        json!({ "shell": shell.to_string(), "script": script }),
    );
    Report::ok(script, json)
}

/// The banner and the status lines: all of them after an add or update,
/// the user's own after a removal, as the vendor's samples show; in JSON,
/// `fields` plus the user's status.
async fn user_report(
    ppin: &Ppin,
    user: &str,
    operation: &str,
    mut fields: Value,
) -> Result<Report, Failure> {
    let listing = ppin.list().await?;
    let status = listing.users.iter().find(|u| u.user == user);
    fields["status"] = json!(status);
    let config = ppin.config()?;
    let text = match operation {
        "remove" => render::target_text(&listing, &config, user),
        _ => render::listing_text(&listing, &config),
    };
    Ok(Report::ok(text, render::ok_json(operation, fields)))
}

/// The banner and the status lines: all of them after `-p`, the proxy's own
/// after `-x`, as the vendor's samples show; in JSON, `fields` plus the
/// proxy's status.
async fn proxy_report(
    ppin: &Ppin,
    proxy_user: &str,
    operation: &str,
    mut fields: Value,
) -> Result<Report, Failure> {
    let listing = ppin.list().await?;
    let status = listing.proxies.iter().find(|p| p.proxy_user == proxy_user);
    fields["status"] = json!(status);
    let config = ppin.config()?;
    let text = match operation {
        "proxy_remove" => render::target_text(&listing, &config, proxy_user),
        _ => render::listing_text(&listing, &config),
    };
    Ok(Report::ok(text, render::ok_json(operation, fields)))
}
