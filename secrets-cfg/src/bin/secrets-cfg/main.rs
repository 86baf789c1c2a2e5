//! `secrets-cfg`: check, list and re-key a Securosys Primus `.secrets.cfg`
//! from the shell, on the `secrets_cfg` library. It never prints a secret
//! or a key: `list` reads no value, `check` decrypts only to judge each
//! entry, and every message names files and entries, not their contents.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use secrets_cfg::{locate, Error, KeySource, SecretsStore};

use report::{Cmd, Failure, Format, Report, Rotation};

/// The exit codes, as `--help` and the README show them.
const EXIT_CODES: &str = "\
Exit codes:
  0  success (`check`: every entry opens under the key)
  1  the secrets file is damaged: an entry fails authentication or is
     malformed, or the file does not parse (alert: restore it from a backup)
  2  usage error (unknown command or flag, missing argument)
  3  the file could not be checked or changed: not found, unreadable, not
     writable, or the key is missing, wrong or open to other users";

/// Checks, lists and re-keys the ciphered Securosys Primus `.secrets.cfg`.
#[derive(Parser)]
#[command(name = "secrets-cfg", version, after_help = EXIT_CODES)]
struct Cli {
    /// Print one JSON object on stdout instead of text (errors included).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check that the file parses and every entry decrypts under the key;
    /// name each entry that does not (exit 1).
    #[command(after_help = EXIT_CODES)]
    Check {
        #[command(flatten)]
        file: FileArg,
        #[command(flatten)]
        key: KeyArg,
    },
    /// List the entries' kinds and names (never their values; needs no key).
    #[command(after_help = EXIT_CODES)]
    List {
        #[command(flatten)]
        file: FileArg,
    },
    /// Re-encrypt every entry under the key in a new key file, in one atomic,
    /// crash-safe replace. The current key is left as it is.
    #[command(after_help = EXIT_CODES)]
    RotateKey {
        #[command(flatten)]
        file: FileArg,
        #[command(flatten)]
        key: KeyArg,
        /// Key file to re-encrypt under: used if it exists (it must not be
        /// readable by other users), else created with a fresh key, mode 0640.
        #[arg(long, value_name = "PATH")]
        new_key_file: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct FileArg {
    /// The secrets file [default: $SECUROSYS_SECRETS_CONF, else the first of
    /// /etc/primus/.secrets.cfg and /usr/local/primus/etc/.secrets.cfg that
    /// exists]
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

impl FileArg {
    fn path(&self) -> PathBuf {
        locate(self.file.as_deref())
    }
}

#[derive(Args)]
struct KeyArg {
    /// Key file [default: $SECUROSYS_SECRETS_KEY (64 hex digits) if set,
    /// else FILE.key]
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
}

impl KeyArg {
    fn source(&self) -> KeySource {
        match &self.key_file {
            Some(path) => KeySource::KeyFile(path.clone()),
            None => KeySource::Default,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = if cli.json { Format::Json } else { Format::Text };
    let outcome = match &cli.command {
        Command::Check { file, key } => check(&file.path(), key.source()),
        Command::List { file } => list(&file.path()),
        Command::RotateKey {
            file,
            key,
            new_key_file,
        } => rotate_key(&file.path(), key.source(), new_key_file),
        Command::Completions { shell } => Ok(completions(*shell)),
    };
    report::emit(outcome, format)
}

fn open(cmd: Cmd, path: &Path, key: KeySource) -> Result<SecretsStore, Failure> {
    SecretsStore::open(path, key).map_err(|e| Failure::new(cmd, path, e))
}

fn check(path: &Path, key: KeySource) -> Result<Report, Failure> {
    let store = open(Cmd::Check, path, key)?;
    let checked = store
        .check()
        .map_err(|e| Failure::new(Cmd::Check, store.path(), e))?;
    Ok(Report::checked(store.path(), &checked))
}

fn list(path: &Path) -> Result<Report, Failure> {
    let store = open(Cmd::List, path, KeySource::Default)?;
    let entries = store
        .list()
        .map_err(|e| Failure::new(Cmd::List, store.path(), e))?;
    Ok(Report::listed(store.path(), &entries))
}

fn rotate_key(path: &Path, key: KeySource, new_key_file: &Path) -> Result<Report, Failure> {
    let store = open(Cmd::RotateKey, path, key)?;
    // The pre-flight first, so an unwritable file fails before the new key
    // file is made.
    let rotated = store
        .check_writable()
        .and_then(|()| store.rotate_key_to_file(new_key_file));
    let count = match rotated {
        Ok(()) => store.list().map(|entries| entries.len()),
        Err(e @ (Error::WrongKey { .. } | Error::MissingKey { .. })) => {
            // A run killed after the replace: the file already opens under
            // the new key file, so there is nothing left to do.
            if let Some(count) = already_under(store.path(), new_key_file) {
                return Ok(Report::rotated(
                    store.path(),
                    new_key_file,
                    count,
                    Rotation::Earlier,
                ));
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
    .map_err(|e| Failure::new(Cmd::RotateKey, store.path(), e))?;
    Ok(Report::rotated(
        store.path(),
        new_key_file,
        count,
        Rotation::Now,
    ))
}

/// The number of entries if every one opens under `key_file`.
fn already_under(path: &Path, key_file: &Path) -> Option<usize> {
    let store = SecretsStore::open(path, KeySource::KeyFile(key_file.to_path_buf())).ok()?;
    let checked = store.check().ok()?;
    checked.is_clean().then_some(checked.entries.len())
}

fn completions(shell: clap_complete::Shell) -> Report {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "secrets-cfg", &mut script);
    Report::completions(shell, String::from_utf8_lossy(&script).into_owned())
}
