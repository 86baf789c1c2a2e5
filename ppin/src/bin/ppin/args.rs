//! The command line, spelled exactly as the vendor's `ppin` spells it.
//!
//! One action flag (`-a -u -r -p -x -l -t -v`) picks the operation; `-e USER`
//! names the user, passwords may follow as positional arguments, and short
//! flags combine (`-ae USER`). Everything else (`--json`, `--completions`,
//! and the vendor's own `--test`, `--user`, `--hsm`, `--slot`, `--slotid`)
//! is long-only so it cannot collide with a vendor flag. `-h` prints the
//! vendor's help, its commands in its order, then ours.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};
use clap_complete::Shell;
use ppin::{LogOrder, LogRequest, TestFilter};
use secrets_cfg::Password;

/// `ppin -h`: the vendor's help text of provider 2.2.4 (the PKCS#11 "ppin"
/// tool page), commands in its order, then what this tool adds.
const HELP: &str = "\
********************
Primus Permanent PIN
********************
parameters:
\t-c: optional path to the primus.cfg configuration file.
\t-s: optional path to the .secrets.cfg file.
commands:
\tppin -h: \tthis message.
\tppin -v: \tPKCS#11 provider version.
\tppin -l: \tlist all Primus HSM hosts.
\tppin -a -e <user name> [<setup pwd> <pkcs11 pwd>]: 
\t\tadd permanent secret for user <user name>.
\tppin -u -e <user name> [<setup pwd> <pkcs11 pwd>]: 
\t\tupdate permanent secret for user <user name>
\tppin -r -e <user name>: \tremove permanent secret for user <user name>.
\tppin -p -e <user name> [proxy pwd]: \tadd proxy password for user <user name>.
\tppin -x -e <user name>: \tremove proxy password for user <user name>.
\tppin --fetchlog --user <user name> --hsm <hsm or host name> [--reverse] 
\t     [--since YYYY-MM-DD] [--out <file>]: 
\t\tDump the HSM log to stdout or a file.
\tppin {-t | --test} [--user <user name>] [--hsm <hsm or host name>] 
\t     [--slot <slot name>] [--slotid <slot ID>]:
\t\tTest connectivity to all HSMs and partitions 
\t\tin the config file (performs a login).
\t\tOptionally filter by HSM name, user name, 
\t\tslot name, slot ID.
\tppin --fortinet --user <user> [<setup pwd> [<pkcs11 pwd>]] 
\t\t [--proxyuser <proxy user> [--proxypwd <proxy pwd>]]: 
\t\t encode secrets config for Fortinet product in base64
options of this ppin (not the vendor's):
\t--json: \tprint one JSON document on stdout instead of the vendor's text.
\t--completions <shell>: \tprint a shell completion script (bash, elvish, fish, powershell, zsh).

Passwords not given as arguments are prompted for (without echo on a terminal, one per line otherwise).

Exit status:
  0    success
  1    the operation failed (the message says why and what to do; -t: any HSM or slot failed)
  2    bad command line
  130  interrupted (Ctrl-C or SIGTERM) at a prompt

Examples:
  ppin -a -e PARTITION_USER          add a permanent secret, prompting for both passwords
  ppin -c /etc/primus/primus.cfg -l  list every slot user and service proxy with its state
  ppin --test --hsm hsm0             test every slot of hsm0
";

/// Parsed command line of `ppin`.
#[derive(Debug, Parser)]
#[command(
    name = "ppin",
    about = "Primus Permanent PIN: trade a setup password for a permanent secret stored in .secrets.cfg",
    disable_version_flag = true,
    group(ArgGroup::new("action").args(["add", "update", "remove", "proxy_add", "proxy_remove", "list", "test", "version", "completions", "fetchlog", "fortinet"]).required(true)),
    override_help = HELP
)]
pub(crate) struct Args {
    /// Add the permanent secret of USER: ppin -a -e USER [SETUP_PWD PKCS11_PWD]
    #[arg(short = 'a', requires = "user")]
    pub(crate) add: bool,
    /// Update (replace) the permanent secret of USER; a failure removes the entry
    #[arg(short = 'u', requires = "user")]
    pub(crate) update: bool,
    /// Remove the permanent secret of USER
    #[arg(short = 'r', requires = "user")]
    pub(crate) remove: bool,
    /// Add the service proxy password of proxy user USER (CloudHSM): ppin -p -e USER [PROXY_PWD]
    #[arg(short = 'p', requires = "user")]
    pub(crate) proxy_add: bool,
    /// Remove the service proxy password of proxy user USER
    #[arg(short = 'x', requires = "user")]
    pub(crate) proxy_remove: bool,
    /// List every slot user and service proxy of primus.cfg with its state
    #[arg(short = 'l')]
    pub(crate) list: bool,
    /// Test: connect to each HSM and log in each slot with its stored permanent secret
    #[arg(short = 't', long = "test")]
    pub(crate) test: bool,
    /// Print the version of ppin and of every reachable HSM
    #[arg(short = 'v')]
    pub(crate) version: bool,
    /// Print a shell completion script and exit
    #[arg(long, value_name = "SHELL")]
    pub(crate) completions: Option<Shell>,
    /// Dump the HSM log of a partition: ppin --fetchlog --user USER --hsm HSM [--reverse] [--since YYYY-MM-DD] [--out FILE]
    #[arg(long)]
    pub(crate) fetchlog: bool,
    /// Print the secrets configuration of a user, base64-encoded, for FortiGate:
    /// ppin --fortinet --user USER [SETUP_PWD [PKCS11_PWD]] [--proxyuser PROXY [--proxypwd PROXY_PWD]]
    #[arg(long)]
    pub(crate) fortinet: bool,

    /// The (slot or proxy) user the action applies to
    #[arg(short = 'e', value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Path to primus.cfg [default: $SECUROSYS_PKCS11_CONF, /etc/primus/primus.cfg, /usr/local/primus/etc/primus.cfg]
    #[arg(short = 'c', value_name = "PRIMUS_CFG")]
    pub(crate) primus_cfg: Option<PathBuf>,
    /// Path to .secrets.cfg [default: $SECUROSYS_SECRETS_CONF, /etc/primus/.secrets.cfg, /usr/local/primus/etc/.secrets.cfg]
    #[arg(short = 's', value_name = "SECRETS_CFG")]
    pub(crate) secrets_cfg: Option<PathBuf>,

    /// With -t: test only this user; with --fetchlog and --fortinet: the user
    #[arg(long = "user", value_name = "USER")]
    pub(crate) test_user: Option<String>,
    /// With --fetchlog: newest entry first
    #[arg(long)]
    pub(crate) reverse: bool,
    /// With --fetchlog: only entries from this day on (00:00 UTC)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = day_arg)]
    pub(crate) since: Option<time::Date>,
    /// With --fetchlog: write the log lines to FILE (replaced atomically) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// With --fortinet: the CloudHSM service proxy user in front of USER
    #[arg(long = "proxyuser", value_name = "PROXY_USER")]
    pub(crate) proxy_user: Option<String>,
    /// With --fortinet: the service proxy password (prompted when missing; also --proxypassword)
    #[arg(long = "proxypwd", alias = "proxypassword", value_name = "PROXY_PWD", value_parser = password_arg, requires = "proxy_user")]
    pub(crate) proxy_password: Option<Password>,
    /// With -t: test only this slot id
    #[arg(long = "slotid", value_name = "N")]
    pub(crate) test_slot: Option<u32>,
    /// With -t: test only this HSM; with --fetchlog: the HSM whose log to dump
    /// (hsmN, or its host as written in primus.cfg)
    #[arg(long = "hsm", value_name = "HSM")]
    pub(crate) hsm: Option<String>,
    /// With -t: test only slots of this name (e.g. slot0)
    #[arg(long = "slot", value_name = "SLOT")]
    pub(crate) slot_name: Option<String>,

    /// Print one JSON document on stdout instead of the vendor's text
    #[arg(long)]
    pub(crate) json: bool,

    /// Passwords: SETUP_PWD PKCS11_PWD for -a/-u, PROXY_PWD for -p (prompted when missing)
    #[arg(value_name = "PASSWORD", num_args = 0..=2, value_parser = password_arg)]
    pub(crate) passwords: Vec<Password>,
}

/// `--since YYYY-MM-DD`.
fn day_arg(text: &str) -> Result<time::Date, String> {
    LogRequest::parse_day(text)
        .ok_or_else(|| format!("'{text}' is not a day in the form YYYY-MM-DD"))
}

/// Wraps a positional password at once, so `Args`' `Debug` redacts it and the
/// copy is zeroized on drop.
fn password_arg(text: &str) -> Result<Password, std::convert::Infallible> {
    Ok(Password::new(text.to_owned()))
}

/// The operation the command line asks for, with its operands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Add {
        user: String,
    },
    Update {
        user: String,
    },
    Remove {
        user: String,
    },
    ProxyAdd {
        user: String,
    },
    ProxyRemove {
        user: String,
    },
    List,
    Test(TestFilter),
    Version,
    Completions(Shell),
    FetchLog {
        request: LogRequest,
        out: Option<PathBuf>,
    },
    Fortinet {
        user: String,
        proxy_user: Option<String>,
    },
}

/// A command line that parses but asks for something ppin cannot do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum UsageError {
    /// Passwords given to an action that takes none, or too many.
    #[error("{flag} takes at most {max} password argument(s), {given} given")]
    TooManyPasswords {
        flag: &'static str,
        max: usize,
        given: usize,
    },
    /// `--user`, `--hsm`, `--slot` or `--slotid` without `-t`.
    #[error("--user, --hsm, --slot and --slotid select what -t tests; use them with -t")]
    TestOptionWithoutTest,
    /// `-e USER` with an action that applies to no single user (`-l`, `-v`).
    #[error("{flag} takes no user; drop -e {user}")]
    UserNotTaken { flag: &'static str, user: String },
    /// An option of `--fetchlog` or `--fortinet` missing or given to another action.
    #[error("{0}")]
    Misplaced(&'static str),
}

impl Args {
    /// Splits the parsed flags into the action and checks the operand counts
    /// clap cannot express (they depend on which action was chosen).
    pub(crate) fn action(&self) -> Result<Action, UsageError> {
        if let Some(vendor_only) = self.log_or_fortinet_action()? {
            return Ok(vendor_only);
        }
        let selects = self.test_user.is_some()
            || self.test_slot.is_some()
            || self.hsm.is_some()
            || self.slot_name.is_some();
        if !self.test && selects {
            // clap's `requires` cannot name a flag (flags always have a value), so this is checked here.
            return Err(UsageError::TestOptionWithoutTest);
        }
        // clap's "requires = user" guarantees a user for the actions that
        // take one; the fallback only keeps this total.
        let user = || self.user.clone().unwrap_or_default();
        let (action, flag, max) = if self.add {
            (Action::Add { user: user() }, "-a", 2)
        } else if self.update {
            (Action::Update { user: user() }, "-u", 2)
        } else if self.remove {
            (Action::Remove { user: user() }, "-r", 0)
        } else if self.proxy_add {
            (Action::ProxyAdd { user: user() }, "-p", 1)
        } else if self.proxy_remove {
            (Action::ProxyRemove { user: user() }, "-x", 0)
        } else if self.list {
            (Action::List, "-l", 0)
        } else if self.test {
            let user = self.test_user.clone().or_else(|| self.user.clone());
            let action = Action::Test(
                TestFilter::new(user, self.test_slot)
                    .with_hsm(self.hsm.clone())
                    .with_slot(self.slot_name.clone()),
            );
            (action, "-t", 0)
        } else if let Some(shell) = self.completions {
            (Action::Completions(shell), "--completions", 0)
        } else {
            (Action::Version, "-v", 0)
        };
        if let (Action::List | Action::Version | Action::Completions(_), Some(user)) =
            (&action, &self.user)
        {
            return Err(UsageError::UserNotTaken {
                flag,
                user: user.clone(),
            });
        }
        if self.passwords.len() > max {
            return Err(UsageError::TooManyPasswords {
                flag,
                max,
                given: self.passwords.len(),
            });
        }
        Ok(action)
    }
}

impl Args {
    /// `--fetchlog` and `--fortinet`, whose options no other action takes.
    fn log_or_fortinet_action(&self) -> Result<Option<Action>, UsageError> {
        if self.hsm.is_some() && !self.fetchlog && !self.test {
            return Err(UsageError::Misplaced(
                "--hsm goes with -t (the HSM to test) or --fetchlog (the HSM whose log to dump)",
            ));
        }
        let log_options = self.reverse || self.since.is_some() || self.out.is_some();
        let fortinet_options = self.proxy_user.is_some() || self.proxy_password.is_some();
        if log_options && !self.fetchlog {
            return Err(UsageError::Misplaced(
                "--reverse, --since and --out go with --fetchlog",
            ));
        }
        if fortinet_options && !self.fortinet {
            return Err(UsageError::Misplaced(
                "--proxyuser and --proxypwd go with --fortinet",
            ));
        }
        if !self.fetchlog && !self.fortinet {
            return Ok(None);
        }
        if self.user.is_some() || self.test_slot.is_some() || self.slot_name.is_some() {
            return Err(UsageError::Misplaced(
                "--fetchlog and --fortinet take the user as --user USER, and no -e, --slot or --slotid",
            ));
        }
        let Some(user) = self.test_user.clone() else {
            return Err(UsageError::Misplaced(
                "--fetchlog and --fortinet need --user USER",
            ));
        };
        if self.fortinet {
            if self.hsm.is_some() {
                return Err(UsageError::Misplaced(
                    "--fortinet takes no --hsm: the user's HSMs come from primus.cfg",
                ));
            }
            if self.passwords.len() > 2 {
                return Err(UsageError::TooManyPasswords {
                    flag: "--fortinet",
                    max: 2,
                    given: self.passwords.len(),
                });
            }
            return Ok(Some(Action::Fortinet {
                user,
                proxy_user: self.proxy_user.clone(),
            }));
        }
        if !self.passwords.is_empty() {
            return Err(UsageError::TooManyPasswords {
                flag: "--fetchlog",
                max: 0,
                given: self.passwords.len(),
            });
        }
        let Some(hsm) = self.hsm.clone() else {
            return Err(UsageError::Misplaced(
                "--fetchlog needs --hsm HSM (hsmN or the host name as in primus.cfg)",
            ));
        };
        let order = if self.reverse {
            LogOrder::NewestFirst
        } else {
            LogOrder::OldestFirst
        };
        let request = LogRequest::new(user, hsm).since(self.since).order(order);
        Ok(Some(Action::FetchLog {
            request,
            out: self.out.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("ppin").chain(argv.iter().copied()))
    }

    fn action(argv: &[&str]) -> Action {
        parse(argv).unwrap().action().unwrap()
    }

    #[test]
    fn vendor_forms_parse() {
        assert_eq!(
            action(&["-a", "-e", "U1"]),
            Action::Add { user: "U1".into() }
        );
        assert_eq!(action(&["-ae", "U1"]), Action::Add { user: "U1".into() });
        assert_eq!(action(&["-ue", "U1"]), Action::Update { user: "U1".into() });
        assert_eq!(
            action(&["-r", "-e", "U1"]),
            Action::Remove { user: "U1".into() }
        );
        assert_eq!(
            action(&["-pe", "PROXY"]),
            Action::ProxyAdd {
                user: "PROXY".into()
            }
        );
        assert_eq!(
            action(&["-x", "-e", "PROXY"]),
            Action::ProxyRemove {
                user: "PROXY".into()
            }
        );
        assert_eq!(action(&["-l"]), Action::List);
        assert_eq!(action(&["-v"]), Action::Version);
        assert_eq!(action(&["-t"]), Action::Test(TestFilter::all()));
        assert_eq!(
            action(&["-t", "--user", "U1", "--slotid", "3"]),
            Action::Test(TestFilter::new(Some("U1".into()), Some(3)))
        );
        assert_eq!(
            action(&["--test", "--hsm", "hsm1", "--slot", "slot0"]),
            Action::Test(
                TestFilter::all()
                    .with_hsm(Some("hsm1".into()))
                    .with_slot(Some("slot0".into()))
            )
        );
        assert_eq!(
            action(&["--completions", "bash"]),
            Action::Completions(Shell::Bash)
        );
    }

    #[test]
    fn fetchlog_and_fortinet_forms_parse() {
        assert_eq!(
            action(&[
                "--fetchlog",
                "--user",
                "U1",
                "--hsm",
                "hsm1",
                "--since",
                "2021-04-01",
                "--reverse",
                "--out",
                "/x/log"
            ]),
            Action::FetchLog {
                request: LogRequest::new("U1", "hsm1")
                    .since(Some(time::macros::date!(2021 - 04 - 01)))
                    .order(LogOrder::NewestFirst),
                out: Some("/x/log".into()),
            }
        );
        assert_eq!(
            action(&["--fetchlog", "--user", "U1", "--hsm", "10.0.0.1"]),
            Action::FetchLog {
                request: LogRequest::new("U1", "10.0.0.1"),
                out: None
            }
        );
        for spelling in ["--proxypwd", "--proxypassword"] {
            let args = parse(&[
                "--fortinet",
                "--user",
                "U1",
                "S",
                "P",
                "--proxyuser",
                "SVC",
                spelling,
                "proxy-pw-1",
            ])
            .unwrap();
            assert_eq!(
                args.action().unwrap(),
                Action::Fortinet {
                    user: "U1".into(),
                    proxy_user: Some("SVC".into())
                }
            );
            assert_eq!(
                args.proxy_password.as_ref().map(Password::expose_secret),
                Some("proxy-pw-1")
            );
            assert!(!format!("{args:?}").contains("proxy-pw-1"));
        }
        assert!(parse(&[
            "--fetchlog",
            "--user",
            "U1",
            "--hsm",
            "h",
            "--since",
            "2021-4-1x"
        ])
        .is_err());
        for misplaced in [
            &["--fetchlog", "--user", "U1"][..],
            &["--fetchlog", "--hsm", "hsm0"],
            &["-l", "--hsm", "hsm0"],
            &["--fortinet", "-e", "U1"],
            &["-l", "--proxyuser", "SVC"],
        ] {
            assert!(
                matches!(
                    parse(misplaced).unwrap().action(),
                    Err(UsageError::Misplaced(_))
                ),
                "{misplaced:?}"
            );
        }
    }

    #[test]
    fn positional_passwords_and_paths() {
        let args = parse(&[
            "-c",
            "/x/primus.cfg",
            "-s",
            "/x/.secrets.cfg",
            "-ae",
            "U1",
            "S",
            "P",
        ])
        .unwrap();
        let given: Vec<&str> = args.passwords.iter().map(Password::expose_secret).collect();
        assert_eq!(given, ["S", "P"]);
        assert_eq!(
            args.primus_cfg.as_deref(),
            Some(std::path::Path::new("/x/primus.cfg"))
        );
        assert_eq!(
            args.secrets_cfg.as_deref(),
            Some(std::path::Path::new("/x/.secrets.cfg"))
        );
        let args = parse(&["-pe", "PROXY", "proxy-pw-123"]).unwrap();
        assert_eq!(args.passwords.len(), 1);
        assert_eq!(args.passwords[0].expose_secret(), "proxy-pw-123");
        assert!(!format!("{args:?}").contains("proxy-pw-123"));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        // No action, two actions, an action without its user, a third password.
        assert!(parse(&[]).is_err());
        assert!(parse(&["-a", "-r", "-e", "U1"]).is_err());
        assert!(parse(&["-a"]).is_err());
        assert!(parse(&["-ae", "U1", "A", "B", "C"]).is_err());
        assert_eq!(
            parse(&["--slotid", "1", "-l"]).unwrap().action(),
            Err(UsageError::TestOptionWithoutTest)
        );
        assert_eq!(
            parse(&["-pe", "PROXY", "A", "B"]).unwrap().action(),
            Err(UsageError::TooManyPasswords {
                flag: "-p",
                max: 1,
                given: 2
            })
        );
        assert_eq!(
            parse(&["-l", "-e", "U1"]).unwrap().action(),
            Err(UsageError::UserNotTaken {
                flag: "-l",
                user: "U1".into()
            })
        );
        assert_eq!(
            parse(&["-re", "U1", "A"]).unwrap().action(),
            Err(UsageError::TooManyPasswords {
                flag: "-r",
                max: 0,
                given: 1
            })
        );
    }
}
